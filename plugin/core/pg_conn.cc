#include "plugin/core/pg_conn.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>

#include "plugin/core/storage_full.h"

namespace countersign::core::pg {

namespace {

// SQLSTATE -> the project's error kinds. Serialization failures and deadlocks are conflicts (and
// the store runs such a transaction again); constraint violations are conflicts, as in the
// SQLite store; bad data (e.g. invalid UTF-8) is the caller's; connection, resource and system
// errors are storage failures.
ErrorKind KindOf(std::string_view state) {
  if (state.size() != 5) return ErrorKind::kIoError;
  std::string_view cls = state.substr(0, 2);
  if (state == "40001" || state == "40P01" || cls == "23") return ErrorKind::kConflict;
  if (state == "XX001" || state == "XX002") return ErrorKind::kCorruption;
  if (state == "57014") return ErrorKind::kTimeout;  // statement_timeout / cancel
  if (cls == "22") return ErrorKind::kInvalid;
  if (cls == "42") return ErrorKind::kInternal;  // our SQL does not match the schema: a bug
  return ErrorKind::kIoError;  // 08 connection, 53 resources, 57 shutdown, 58 system, ...
}

void IgnoreNotice(void*, const char*) {}  // "relation already exists, skipping" and the like

}  // namespace

Rows::Rows(PGresult* res) : res_(res) {}
Rows::~Rows() { PQclear(res_); }
int Rows::size() const { return res_ ? PQntuples(res_) : 0; }

std::string Rows::Text(int row, int col) const {
  if (PQgetisnull(res_, row, col)) return {};
  return std::string(PQgetvalue(res_, row, col), static_cast<size_t>(PQgetlength(res_, row, col)));
}

int64_t Rows::Int(int row, int col) const {
  const char* p = PQgetvalue(res_, row, col);
  int64_t v = 0;
  std::from_chars(p, p + PQgetlength(res_, row, col), v);
  return v;
}

int64_t Rows::Affected() const {
  const char* n = PQcmdTuples(res_);
  int64_t v = 0;
  std::from_chars(n, n + std::strlen(n), v);
  return v;
}

Result<std::unique_ptr<Conn>> Conn::Connect(const std::string& conninfo,
                                            const std::string& password) {
  // conninfo is expanded from "dbname" (expand_dbname=1); keys after it override what it says:
  // the session always speaks UTF-8, and the password comes from the caller, never the string.
  std::vector<const char*> keys = {"dbname", "client_encoding", "fallback_application_name"};
  std::vector<const char*> values = {conninfo.c_str(), "UTF8", "countersign"};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return Status::IoError("postgres connect: out of memory");
  std::unique_ptr<Conn> conn(new Conn(raw));
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(raw);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::IoError("postgres connect: " + msg);
  }
  PQsetNoticeProcessor(raw, IgnoreNotice, nullptr);
  // An OK from the store means durable: a server or role configured with synchronous_commit=off
  // would acknowledge commits it could still lose. Stronger settings (remote_apply, ...) stay.
  auto sc = conn->Query("SELECT current_setting('synchronous_commit')");
  if (!sc.ok()) return sc.status();
  if (sc->empty() || sc->Text(0, 0) == "off") {
    CS_RETURN_IF_ERROR(conn->Exec("SET synchronous_commit TO on"));
  }
  return conn;
}

Conn::~Conn() { PQfinish(conn_); }

bool Conn::Healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
bool Conn::Idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }

Status Conn::ErrorOf(const PGresult* res, std::string_view what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  // Only the primary message: DETAIL lines can quote the stored values (patient data).
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? primary : PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  ErrorKind kind = state ? KindOf(state) : ErrorKind::kIoError;
  if (!Healthy()) kind = ErrorKind::kIoError;  // the connection itself went away
  last_retryable_ = state && (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0);
  std::string code = state ? std::string(" [") + state + "]" : std::string();
  // 53100 disk_full: transient, like SQLITE_FULL (plugin/core/storage_full.h).
  if (state && std::strcmp(state, "53100") == 0 && Healthy()) {
    return StorageFull("postgres " + std::string(what) + ": " + msg + code);
  }
  return Status::Error(kind, "postgres " + std::string(what) + ": " + msg + code);
}

Status Conn::Exec(const char* sql) {
  last_retryable_ = false;
  Rows res(PQexec(conn_, sql));
  ExecStatusType st = PQresultStatus(res.raw());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return ErrorOf(res.raw(), "exec");
}

Result<Rows> Conn::Query(const std::string& sql, const Params& params) {
  last_retryable_ = false;
  std::vector<const char*> values;
  values.reserve(params.values().size());
  for (const auto& v : params.values()) {
    // Text parameters travel as C strings: a NUL would silently cut the value short.
    if (v && v->find('\0') != std::string::npos) {
      return Status::Invalid("postgres: a text value contains a NUL byte");
    }
    values.push_back(v ? v->c_str() : nullptr);
  }
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "cs_" + std::to_string(prepared_.size() + 1);
    Rows prep(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    if (PQresultStatus(prep.raw()) != PGRES_COMMAND_OK) {
      return ErrorOf(prep.raw(), "prepare");
    }
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  Rows res(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                          values.data(), nullptr, nullptr, 0));
  ExecStatusType st = PQresultStatus(res.raw());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
  return ErrorOf(res.raw(), "query");
}

Pool::~Pool() = default;

Pool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)) {
  other.pool_ = nullptr;
}

Pool::Lease::~Lease() {
  if (pool_) pool_->Release(std::move(conn_));
}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
  if (!idle_.empty()) {
    std::unique_ptr<Conn> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();  // connecting takes a round trip or more; others may use idle connections
  auto conn = Conn::Connect(conninfo_, password_);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(conn).value());
}

void Pool::Release(std::unique_ptr<Conn> conn) {
  std::unique_ptr<Conn> closing;  // closed outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn && conn->Healthy() && conn->Idle()) {
      idle_.push_back(std::move(conn));
    } else {
      closing = std::move(conn);
      --open_;
    }
  }
  cv_.notify_one();
}

Status CheckConnInfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (options == nullptr) {
    // libpq's message quotes the string, which may hold secrets: not repeated.
    PQfreemem(err);
    return Status::Invalid("not a valid libpq connection string");
  }
  bool has_password = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && o->val[0] != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(options);
  if (has_password) return Status::Invalid("must not contain a password (use password_env)");
  return Status::Ok();
}

}  // namespace countersign::core::pg
