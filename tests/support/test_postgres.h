// A throwaway PostgreSQL server for tests: initdb into a fresh directory under /tmp, pg_ctl start
// listening on 127.0.0.1 only (a free port) and on a unix socket inside that directory, a fresh
// database per test, and pg_ctl stop + removal of the directory at the end.
//
// The server binaries are found through $COUNTERSIGN_PG_BINDIR, `pg_config --bindir`, or
// /usr/lib/postgresql/<newest>/bin (Debian keeps initdb off PATH). PostgreSQL refuses to run as
// root, so when the tests run as root the server runs as the `postgres` system user (or `nobody`)
// and owns the directory.
//
// Connections over the unix socket need no password (trust, for the server's own user only);
// over TCP they need password() (scram-sha-256).
//
// A server left behind by a test process that was killed (SIGKILL, a CTest timeout) keeps
// running until the next Start(), which stops and removes every /tmp/cs-pg-* whose owner process
// (owner.pid) is gone.
//
// Threading: thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhir/status.h"

typedef struct pg_conn PGconn;

namespace countersign::testing {

class TestPostgres {
 public:
  // The server of this test process, started on first use (about 2-4 s) and stopped at exit.
  // kUnavailable (with the reason, and the server log's tail when it did not start) otherwise.
  static Result<TestPostgres*> Shared();
  // A server of one's own; stopped and removed by the destructor.
  static Result<std::unique_ptr<TestPostgres>> Start();
  ~TestPostgres();

  // A new empty database (UTF-8); its name.
  Result<std::string> CreateDatabase();
  // Drops it, closing any connections still open to it.
  Status DropDatabase(const std::string& name);

  // libpq conninfo for a database, over the unix socket (no password) or TCP 127.0.0.1.
  std::string SocketConnInfo(const std::string& dbname) const;
  std::string TcpConnInfo(const std::string& dbname) const;
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  int port() const { return port_; }

 private:
  TestPostgres() = default;
  Status Launch();
  // Runs the binary `name` from the server's bin dir with args, as the server's user, in the
  // server's directory, with its output appended to its log; the exit status (or -1).
  int RunTool(const std::string& name, const std::vector<std::string>& args);
  Status Admin(const std::string& sql);  // on the maintenance database
  std::string LogTail() const;

  std::string bindir_;
  std::string dir_;       // /tmp/cs-pg-XXXXXX: data/, the socket, server.log
  std::string user_ = "countersign_test";
  std::string password_;
  int port_ = 0;
  int run_uid_ = -1;      // the server's OS user when the tests run as root; -1 = ourselves
  int run_gid_ = -1;
  bool started_ = false;
  std::mutex mu_;         // guards admin_ and next_db_
  PGconn* admin_ = nullptr;
  int next_db_ = 0;
};

}  // namespace countersign::testing
