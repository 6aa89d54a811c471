// Schema migrations, embedded at build time from plugin/core/migrations/NNN_name.sql (the .sql
// files are the source of truth). A store applies, in number order, every migration above the
// version recorded in the database, each in its own transaction.
#pragma once

#include <string>
#include <vector>

namespace countersign::core {

struct Migration {
  int number;        // from the file name's leading digits: 001_init.sql -> 1
  const char* name;  // "001_init.sql"
  const char* sql;   // the file's contents
};

// Every embedded migration, sorted by number.
const std::vector<Migration>& EmbeddedMigrations();

}  // namespace countersign::core
