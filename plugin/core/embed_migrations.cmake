# cmake -DOUT=<file.cc> -DFILES=<a.sql;b.sql> [-DFUNCTION=<name>] -P embed_migrations.cmake
# Writes a .cc defining countersign::core::<FUNCTION>() (default EmbeddedMigrations, the SQLite
# store's; the PostgreSQL store's is EmbeddedPgMigrations): {number, name, sql} per file.
if(NOT FUNCTION)
  set(FUNCTION EmbeddedMigrations)
endif()
set(body "// Generated from numbered .sql migrations by embed_migrations.cmake. Do not edit.\n")
string(APPEND body "#include \"plugin/core/migrations.h\"\n\nnamespace countersign::core {\n\n")
string(APPEND body "const std::vector<Migration>& ${FUNCTION}() {\n")
string(APPEND body "  static const std::vector<Migration> kMigrations = {\n")
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^[0-9]+" number ${name})
  math(EXPR number "${number}")  # strips leading zeros
  file(READ ${f} sql)
  string(FIND "${sql}" ")countersign_sql\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw-string delimiter")
  endif()
  string(APPEND body "    {${number}, \"${name}\", R\"countersign_sql(${sql})countersign_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return kMigrations;\n}\n\n}  // namespace countersign::core\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
