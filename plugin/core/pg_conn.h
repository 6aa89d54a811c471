// A thin RAII layer over libpq for the PostgreSQL store: a connection that prepares each SQL text
// once (PQprepare, cached per connection) and runs it with bound text parameters
// (PQexecPrepared), a result wrapper, and a small connection pool. SQL text never contains data:
// every value travels as a parameter.
//
// Threading: a Conn is used by one thread at a time (the pool hands each caller its own); the
// Pool is thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/status.h"

// libpq's types, kept out of every includer's namespace.
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace countersign::core::pg {

// Values for $1, $2, ... in order, sent as text; a missing value is SQL NULL.
class Params {
 public:
  Params& Add(std::string_view text) {
    values_.emplace_back(std::string(text));
    return *this;
  }
  Params& Add(int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
  }
  Params& AddNull() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  Params& AddOptional(const std::optional<std::string>& v) {
    return v ? Add(std::string_view(*v)) : AddNull();
  }
  Params& AddOptional(const std::optional<int64_t>& v) { return v ? Add(*v) : AddNull(); }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// The rows of one statement (owns the PGresult).
class Rows {
 public:
  explicit Rows(PGresult* res);
  Rows(Rows&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  Rows& operator=(Rows&&) = delete;
  Rows(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool empty() const { return size() == 0; }
  std::string Text(int row, int col) const;  // NULL reads as ""
  // Columns read with Int are BIGINT/INTEGER in the schema, so their text always parses; a NULL
  // reads as 0.
  int64_t Int(int row, int col) const;
  int64_t Affected() const;  // rows changed by INSERT/UPDATE/DELETE
  const PGresult* raw() const { return res_; }

 private:
  PGresult* res_;
};

class Conn {
 public:
  // Connects with a libpq conninfo string (key=value pairs or a postgresql:// URI). password,
  // when not empty, overrides any in conninfo. Makes sure the session commits durably
  // (synchronous_commit is never off). kIoError when the server cannot be reached or refuses.
  static Result<std::unique_ptr<Conn>> Connect(const std::string& conninfo,
                                               const std::string& password);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs constant SQL without parameters: BEGIN/COMMIT/ROLLBACK and migration scripts (which may
  // hold several statements).
  Status Exec(const char* sql);
  // Runs sql with params (prepared on this connection on first use).
  Result<Rows> Query(const std::string& sql, const Params& params = Params());

  // False once the connection is broken (it is then dropped rather than pooled).
  bool Healthy() const;
  // True when no transaction is open (safe to hand to the next caller).
  bool Idle() const;
  // Whether the last failure was a serialization failure or a deadlock: the transaction may
  // simply be run again.
  bool LastErrorRetryable() const { return last_retryable_; }

 private:
  explicit Conn(PGconn* conn) : conn_(conn) {}
  Status ErrorOf(const PGresult* res, std::string_view what);

  PGconn* conn_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL text -> statement name
  bool last_retryable_ = false;
};

// A connection pool: one connection per concurrent caller, at most max_size open; callers beyond
// that wait for a free one. Broken connections (and any left inside a transaction) are closed
// rather than reused.
class Pool {
 public:
  Pool(std::string conninfo, std::string password, int max_size)
      : conninfo_(std::move(conninfo)), password_(std::move(password)), max_size_(max_size) {}
  ~Pool();

  // A connection on loan; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept;
    ~Lease();
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }
    // Closes this connection instead of pooling it (after a failure that left it unusable).
    void Discard() { conn_.reset(); }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  // A pooled connection or a new one; kIoError when a new one cannot be opened.
  Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<Conn> conn);

  const std::string conninfo_;
  const std::string password_;
  const int max_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  int open_ = 0;                             // guarded by mu_: idle + on loan + being opened
};

// Checks that conninfo parses as a libpq connection string and carries no password (passwords
// come from the environment, never from a file). The message never repeats the string.
Status CheckConnInfo(const std::string& conninfo);

}  // namespace countersign::core::pg
