// Schema migrations, embedded at build time from plugin/core/migrations/NNN_name.sql (SQLite) and
// plugin/core/migrations_pg/NNN_name.sql (PostgreSQL); the .sql files are the source of truth. A
// store applies, in number order, every migration above the version recorded in the database.
#pragma once

#include <string>
#include <vector>

namespace countersign::core {

struct Migration {
  int number;        // from the file name's leading digits: 001_init.sql -> 1
  const char* name;  // "001_init.sql"
  const char* sql;   // the file's contents
};

// Every embedded SQLite migration, sorted by number.
const std::vector<Migration>& EmbeddedMigrations();
// Every embedded PostgreSQL migration, sorted by number.
const std::vector<Migration>& EmbeddedPgMigrations();

}  // namespace countersign::core
