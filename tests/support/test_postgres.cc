#include "tests/support/test_postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace countersign::testing {

namespace fs = std::filesystem;

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Where initdb and pg_ctl live: Debian keeps them in /usr/lib/postgresql/<major>/bin.
std::string FindBinDir() {
  auto has_initdb = [](const std::string& d) { return !d.empty() && fs::exists(d + "/initdb"); };
  if (const char* env = std::getenv("COUNTERSIGN_PG_BINDIR"); env && has_initdb(env)) return env;
  if (FILE* p = popen("pg_config --bindir 2>/dev/null", "r")) {
    char buf[4096];
    std::string out;
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    out = Trim(out);
    if (has_initdb(out)) return out;
  }
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = e.path().string() + "/bin";
    if (has_initdb(bin)) found.emplace_back(std::atoi(e.path().filename().c_str()), bin);
  }
  if (found.empty()) return {};
  return std::max_element(found.begin(), found.end())->second;
}

// A port the kernel just handed out on 127.0.0.1 (free a moment ago; Launch retries if taken).
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  const char* digits = "0123456789abcdef";
  for (int i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

// A conninfo value in single quotes (paths may hold spaces).
std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// Runs bindir/name with args in dir, as uid/gid when uid >= 0, with its output appended to
// dir/server.log; the exit status (or -1).
int RunAs(const std::string& bindir, const std::string& name, const std::vector<std::string>& args,
          const std::string& dir, int uid, int gid) {
  std::string path = bindir + "/" + name;
  std::vector<std::string> all = {path};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log = dir + "/server.log";
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    if (uid >= 0) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        _exit(126);
      }
    }
    // Opened as the server's user: the server appends to the same log later.
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Stops and removes the servers of test processes that are gone (killed by a timeout or SIGKILL
// before their destructor ran): each directory names its owner process in owner.pid.
void ReapOrphans(const std::string& bindir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/tmp", ec)) {
    const std::string dir = e.path().string();
    if (e.path().filename().string().rfind("cs-pg-", 0) != 0) continue;
    std::ifstream in(dir + "/owner.pid");
    long owner = 0;
    if (!(in >> owner) || owner <= 0) continue;  // not ours, or still being set up
    if (kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;  // still running
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) continue;
    const bool as_other = geteuid() == 0 && st.st_uid != 0;
    if (fs::exists(dir + "/data/postmaster.pid")) {
      RunAs(bindir, "pg_ctl", {"stop", "-w", "-t", "30", "-m", "immediate", "-D", dir + "/data"},
            dir, as_other ? static_cast<int>(st.st_uid) : -1,
            as_other ? static_cast<int>(st.st_gid) : -1);
    }
    fs::remove_all(dir, ec);
  }
}

}  // namespace

Result<TestPostgres*> TestPostgres::Shared() {
  static std::mutex mu;
  static std::unique_ptr<TestPostgres> server;  // stopped by its destructor at exit
  static Status failed;
  std::lock_guard<std::mutex> lock(mu);
  if (!server && failed.ok()) {
    auto s = Start();
    if (s.ok()) {
      server = std::move(s).value();
    } else {
      failed = s.status();  // not retried: every test would wait for the same failure
    }
  }
  if (!failed.ok()) return failed;
  return server.get();
}

Result<std::unique_ptr<TestPostgres>> TestPostgres::Start() {
  std::unique_ptr<TestPostgres> pg(new TestPostgres());
  Status s = pg->Launch();
  if (!s.ok()) return s;
  return pg;
}

int TestPostgres::RunTool(const std::string& name, const std::vector<std::string>& args) {
  return RunAs(bindir_, name, args, dir_, run_uid_, run_gid_);
}

std::string TestPostgres::LogTail() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

Status TestPostgres::Launch() {
  bindir_ = FindBinDir();
  if (bindir_.empty()) {
    return Status::Unavailable("PostgreSQL server binaries not found (apt-get install postgresql, "
                               "or set COUNTERSIGN_PG_BINDIR)");
  }
  ReapOrphans(bindir_);
  char tmpl[] = "/tmp/cs-pg-XXXXXX";  // short: a unix socket path must fit in 107 bytes
  if (mkdtemp(tmpl) == nullptr) return Status::IoError("mkdtemp failed");
  dir_ = tmpl;
  {
    std::ofstream owner(dir_ + "/owner.pid");
    owner << getpid() << "\n";
  }
  if (geteuid() == 0) {
    // initdb and postgres refuse root: hand the directory to an unprivileged system user.
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) pw = getpwnam("nobody");
    if (pw == nullptr) return Status::Unavailable("running as root and no postgres/nobody user");
    run_uid_ = static_cast<int>(pw->pw_uid);
    run_gid_ = static_cast<int>(pw->pw_gid);
    if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::IoError("chown failed");
  }
  password_ = RandomHex(16);
  const std::string pwfile = dir_ + "/pwfile";
  {
    std::ofstream f(pwfile);
    f << password_ << "\n";
  }
  chmod(pwfile.c_str(), 0600);
  if (run_uid_ >= 0 && chown(pwfile.c_str(), run_uid_, run_gid_) != 0) {
    return Status::IoError("chown failed");
  }
  // --no-sync: the cluster is thrown away after the run; the server itself keeps fsync on.
  int rc = RunTool("initdb", {"-D", dir_ + "/data", "-U", user_, "--pwfile=" + pwfile,
                              "--auth-local=trust", "--auth-host=scram-sha-256",
                              "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"});
  fs::remove(pwfile);
  if (rc != 0) {
    return Status::Unavailable("initdb failed (exit " + std::to_string(rc) + "): " + LogTail());
  }

  for (int attempt = 0; attempt < 3 && !started_; ++attempt) {
    port_ = FreeLoopbackPort();
    if (port_ == 0) return Status::IoError("no free loopback port");
    // Loopback only, and a socket inside our own directory; small, since the machine is shared.
    // postgresql.auto.conf is read last, so these win over initdb's postgresql.conf.
    std::ofstream conf(dir_ + "/data/postgresql.auto.conf", std::ios::trunc);
    conf << "listen_addresses = '127.0.0.1'\n"
         << "port = " << port_ << "\n"
         << "unix_socket_directories = '" << dir_ << "'\n"
         << "max_connections = 60\n"
         << "shared_buffers = 32MB\n";
    conf.close();
    rc = RunTool("pg_ctl", {"start", "-w", "-t", "60", "-D", dir_ + "/data", "-l",
                            dir_ + "/server.log"});
    started_ = rc == 0;
  }
  if (!started_) return Status::Unavailable("pg_ctl start failed: " + LogTail());

  admin_ = PQconnectdb(SocketConnInfo("postgres").c_str());
  if (PQstatus(admin_) != CONNECTION_OK) {
    return Status::Unavailable(std::string("cannot connect to the test server: ") +
                               PQerrorMessage(admin_));
  }
  return Status::Ok();
}

TestPostgres::~TestPostgres() {
  if (admin_) PQfinish(admin_);
  if (started_ &&
      RunTool("pg_ctl", {"stop", "-w", "-t", "30", "-m", "fast", "-D", dir_ + "/data"}) != 0) {
    RunTool("pg_ctl", {"stop", "-w", "-m", "immediate", "-D", dir_ + "/data"});
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

Status TestPostgres::Admin(const std::string& sql) {
  PGresult* res = PQexec(admin_, sql.c_str());
  Status s;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    s = Status::IoError(std::string("test server: ") + PQresultErrorMessage(res));
  }
  PQclear(res);
  return s;
}

Result<std::string> TestPostgres::CreateDatabase() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string name = "cs_test_" + std::to_string(++next_db_);
  // CREATE DATABASE takes no parameters; the name is ours (generated above), quoted anyway.
  char* quoted = PQescapeIdentifier(admin_, name.c_str(), name.size());
  if (quoted == nullptr) return Status::Internal("PQescapeIdentifier failed");
  Status s = Admin(std::string("CREATE DATABASE ") + quoted);
  PQfreemem(quoted);
  if (!s.ok()) return s;
  return name;
}

Status TestPostgres::DropDatabase(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  char* quoted = PQescapeIdentifier(admin_, name.c_str(), name.size());
  if (quoted == nullptr) return Status::Internal("PQescapeIdentifier failed");
  Status s = Admin(std::string("DROP DATABASE IF EXISTS ") + quoted + " WITH (FORCE)");
  PQfreemem(quoted);
  return s;
}

std::string TestPostgres::SocketConnInfo(const std::string& dbname) const {
  return "host=" + Quote(dir_) + " port=" + std::to_string(port_) + " dbname=" + Quote(dbname) +
         " user=" + Quote(user_);
}

std::string TestPostgres::TcpConnInfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + Quote(dbname) +
         " user=" + Quote(user_);
}

}  // namespace countersign::testing
