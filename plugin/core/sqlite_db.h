// A thin RAII layer over the SQLite C API for the SQLite store: a connection with a cache of
// prepared statements, and a statement wrapper that binds by position and reads columns. Only
// prepared statements with bound values are used; SQL text never contains data.
//
// Threading: one thread at a time per Db (the store serializes access).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fhir/status.h"

namespace countersign::core::sqlite {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();  // resets and clears bindings; the statement stays cached in its Db

  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, int64_t value);
  Stmt& BindNull(int index);

  // SQLITE_ROW -> true; SQLITE_DONE -> false; errors -> Status in *error (and false).
  bool Step(Status* error);
  // Runs to completion (for statements without rows).
  Status Run();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const;

 private:
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  // Opens (creating) path. kIoError on failure.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool read_only);
  ~Db();

  // Runs SQL without parameters (pragmas, migrations, BEGIN/COMMIT).
  Status Exec(const std::string& sql);
  // A cached prepared statement. Nested use of the same SQL at once is not allowed.
  Result<std::unique_ptr<Stmt>> Prepare(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() { return db_; }
  Status ErrorStatus(int rc, std::string_view what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

}  // namespace countersign::core::sqlite
