#include "plugin/config/config.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "plugin/core/audit_chain.h"
#include "plugin/core/pg_conn.h"
#include "plugin/core/principals.h"

namespace countersign::config {
namespace {

namespace fs = std::filesystem;

// Reads one JSON object's members by name, refusing unknown ones; every error names its path.
class Section {
 public:
  Section(const json::Value& value, std::string path) : value_(value), path_(std::move(path)) {}

  Status CheckObject() const {
    if (!value_.IsObject()) return Status::Invalid(path_ + ": expected an object");
    return Status::Ok();
  }
  // Refuses any member not in `known`.
  Status OnlyKnown(std::initializer_list<const char*> known) const {
    std::set<std::string> names(known.begin(), known.end());
    for (const auto& m : value_.GetObject()) {
      std::string name(m.name.GetString(), m.name.GetStringLength());
      if (!names.count(name)) return Status::Invalid(Path(name) + ": unknown key");
    }
    return Status::Ok();
  }
  const json::Value* Get(const char* name) const { return json::Member(value_, name); }
  std::string Path(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  Status String(const char* name, std::string* out) const {
    const json::Value* v = Get(name);
    if (!v) return Status::Ok();
    if (!v->IsString()) return Status::Invalid(Path(name) + ": expected a string");
    *out = std::string(v->GetString(), v->GetStringLength());
    return Status::Ok();
  }
  Status Bool(const char* name, bool* out) const {
    const json::Value* v = Get(name);
    if (!v) return Status::Ok();
    if (!v->IsBool()) return Status::Invalid(Path(name) + ": expected a boolean");
    *out = v->GetBool();
    return Status::Ok();
  }
  template <typename T>
  Status Int(const char* name, T* out, int64_t min, int64_t max) const {
    const json::Value* v = Get(name);
    if (!v) return Status::Ok();
    if (!v->IsInt64()) return Status::Invalid(Path(name) + ": expected an integer");
    int64_t n = v->GetInt64();
    if (n < min || n > max) {
      return Status::Invalid(Path(name) + ": must be between " + std::to_string(min) + " and " +
                             std::to_string(max));
    }
    *out = static_cast<T>(n);
    return Status::Ok();
  }
  Status Millis(const char* name, std::chrono::milliseconds* out, int64_t max,
                int64_t min = 0) const {
    int64_t ms = out->count();
    CS_RETURN_IF_ERROR(Int(name, &ms, min, max));
    *out = std::chrono::milliseconds(ms);
    return Status::Ok();
  }

 private:
  const json::Value& value_;
  std::string path_;
};

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// A file the config names at `path`: its text, or the reason it cannot be read, named by path.
Result<std::string> ReadNamedFile(const std::string& path, const std::string& file) {
  auto text = core::ReadTextFile(file);
  if (!text.ok()) return Status::Error(text.status().kind(), path + ": " + text.status().message());
  return text;
}

// A section given inline (an object) or as a file name (a string): its JSON text.
Result<std::string> Included(const json::Value* v, const std::string& path,
                             const std::string& base_dir, bool array_ok) {
  if (v == nullptr) return Status::Invalid(path + ": required");
  if (v->IsString()) return ReadNamedFile(path, Resolve(base_dir, v->GetString()));
  if (v->IsObject() || (array_ok && v->IsArray())) return json::Stringify(*v);
  return Status::Invalid(path + ": expected an object or a file name");
}

// 127.0.0.0/8, ::1 or "localhost": the only listen hosts plain HTTP is allowed on.
bool IsLoopbackListenHost(std::string host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned char v4[4];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, host.c_str(), v6) == 1) {
    static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(v6, kLoopback, 16) == 0;
  }
  return false;
}

std::string Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

// fhir.auth.smart_backend: the key is read and checked here, so check-config catches a wrong
// file, an encrypted key or an unusable curve before the daemon starts.
Status ParseSmartBackend(const json::Value& v, const std::string& base_dir,
                         fhir::SmartBackendOptions* out) {
  Section s(v, "fhir.auth.smart_backend");
  CS_RETURN_IF_ERROR(s.CheckObject());
  CS_RETURN_IF_ERROR(s.OnlyKnown({"client_id", "key_id", "private_key_file", "scope",
                                  "token_url"}));
  std::string key_file;
  CS_RETURN_IF_ERROR(s.String("client_id", &out->client_id));
  CS_RETURN_IF_ERROR(s.String("key_id", &out->key_id));
  CS_RETURN_IF_ERROR(s.String("private_key_file", &key_file));
  CS_RETURN_IF_ERROR(s.String("scope", &out->scope));
  CS_RETURN_IF_ERROR(s.String("token_url", &out->token_url));
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"client_id", &out->client_id},
                             {"key_id", &out->key_id},
                             {"private_key_file", &key_file},
                             {"scope", &out->scope}}) {
    if (value->empty()) return Status::Invalid(s.Path(name) + ": required");
  }
  if (!out->token_url.empty()) {
    Status url = fhir::CheckTokenEndpointUrl(out->token_url);
    if (!url.ok()) return Status::Invalid(s.Path("token_url") + ": " + url.message());
  }
  auto pem = ReadNamedFile(s.Path("private_key_file"), Resolve(base_dir, key_file));
  if (!pem.ok()) return pem.status();
  auto key = fhir::SigningKey::FromPem(*pem);
  if (!key.ok()) return Status::Invalid(s.Path("private_key_file") + ": " + key.status().message());
  out->private_key_pem = std::move(pem).value();
  return Status::Ok();
}

// fhir.base_url: an absolute http(s) URL with a host, as libcurl will read it (so "http://",
// a space or a fragment is refused here rather than at the first commit).
Status CheckBaseUrl(const std::string& url) {
  const char* kWant = "fhir.base_url: required, an http:// or https:// URL with a host";
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::Invalid(kWant);
  }
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Status::Invalid(std::string(kWant) + " (not a valid URL)");
  }
  char* host = nullptr;
  bool has_host = curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
  curl_free(host);
  if (!has_host) return Status::Invalid(kWant);
  for (CURLUPart part : {CURLUPART_QUERY, CURLUPART_FRAGMENT}) {
    char* extra = nullptr;
    bool present = curl_url_get(u.get(), part, &extra, 0) == CURLUE_OK && extra;
    curl_free(extra);
    if (present) return Status::Invalid("fhir.base_url: no query or fragment (the server's base)");
  }
  return Status::Ok();
}

bool IsLoopbackUrl(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  char* host = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || host == nullptr) {
    return false;
  }
  std::string h = host;
  curl_free(host);
  return h == "localhost" || h == "[::1]" || h.rfind("127.", 0) == 0;
}

// server.listen: "IPv4:port", the form the listener binds (no scheme, no IPv6, no names).
Status ParseListen(const std::string& listen, std::string* host, int* port) {
  const char* kWant = "server.listen: expected IPv4-address:port, e.g. 127.0.0.1:8400";
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::Invalid(kWant);
  std::string h = listen.substr(0, colon);
  in_addr addr{};
  if (h.empty() || inet_pton(AF_INET, h.c_str(), &addr) != 1) {
    return Status::Invalid(std::string(kWant) + " (not an IPv4 address: '" + h.substr(0, 64) +
                           "')");
  }
  std::string_view p = std::string_view(listen).substr(colon + 1);
  int n = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || n < 0 || n > 65535) {
    return Status::Invalid("server.listen: expected host:port with a port 0-65535");
  }
  *host = h;
  *port = n;
  return Status::Ok();
}

Status ParseFhir(const json::Value& v, const std::string& base_dir, fhir::ClientOptions* out) {
  Section s(v, "fhir");
  CS_RETURN_IF_ERROR(s.CheckObject());
  CS_RETURN_IF_ERROR(s.OnlyKnown({"base_url", "auth", "tls", "connect_timeout_ms",
                                  "request_timeout_ms", "retry"}));
  CS_RETURN_IF_ERROR(s.String("base_url", &out->base_url));
  CS_RETURN_IF_ERROR(CheckBaseUrl(out->base_url));
  // 0 would mean "no limit" to libcurl: a hung server would hold a commit forever.
  CS_RETURN_IF_ERROR(s.Millis("connect_timeout_ms", &out->connect_timeout, 600000, 1));
  CS_RETURN_IF_ERROR(s.Millis("request_timeout_ms", &out->request_timeout, 600000, 1));
  if (const json::Value* a = s.Get("auth")) {
    Section auth(*a, "fhir.auth");
    CS_RETURN_IF_ERROR(auth.CheckObject());
    CS_RETURN_IF_ERROR(auth.OnlyKnown({"bearer_token", "bearer_token_env", "basic_user",
                                       "basic_password_env", "smart_backend"}));
    std::string env;
    CS_RETURN_IF_ERROR(auth.String("bearer_token", &out->auth.bearer_token));
    CS_RETURN_IF_ERROR(auth.String("bearer_token_env", &env));
    if (!env.empty()) {
      out->auth.bearer_token = Env(env);
      if (out->auth.bearer_token.empty()) {
        return Status::Invalid("fhir.auth.bearer_token_env: environment variable " + env +
                               " is not set");
      }
    }
    CS_RETURN_IF_ERROR(auth.String("basic_user", &out->auth.basic_user));
    env.clear();
    CS_RETURN_IF_ERROR(auth.String("basic_password_env", &env));
    if (!env.empty()) {
      out->auth.basic_password = Env(env);
      if (out->auth.basic_password.empty()) {
        return Status::Invalid("fhir.auth.basic_password_env: environment variable " + env +
                               " is not set");
      }
    }
    if (out->auth.basic_user.empty() != env.empty()) {
      return Status::Invalid("fhir.auth: basic_user and basic_password_env go together");
    }
    if (!out->auth.bearer_token.empty() && !out->auth.basic_user.empty()) {
      return Status::Invalid("fhir.auth: a bearer token or basic credentials, not both");
    }
    if (const json::Value* smart = auth.Get("smart_backend")) {
      if (!out->auth.bearer_token.empty() || !out->auth.basic_user.empty()) {
        return Status::Invalid("fhir.auth.smart_backend: SMART Backend Services replaces a "
                               "static bearer token or basic credentials; give one of them");
      }
      CS_RETURN_IF_ERROR(ParseSmartBackend(*smart, base_dir, &out->auth.smart_backend));
    }
  }
  if (const json::Value* t = s.Get("tls")) {
    Section tls(*t, "fhir.tls");
    CS_RETURN_IF_ERROR(tls.CheckObject());
    CS_RETURN_IF_ERROR(tls.OnlyKnown({"verify", "ca_file", "client_cert_file", "client_key_file"}));
    CS_RETURN_IF_ERROR(tls.Bool("verify", &out->tls.verify));
    CS_RETURN_IF_ERROR(tls.String("ca_file", &out->tls.ca_file));
    out->tls.ca_file = Resolve(base_dir, out->tls.ca_file);
    if (!out->tls.ca_file.empty()) {
      CS_RETURN_IF_ERROR(ReadNamedFile(tls.Path("ca_file"), out->tls.ca_file).status());
    }
    CS_RETURN_IF_ERROR(tls.String("client_cert_file", &out->tls.client_cert_file));
    CS_RETURN_IF_ERROR(tls.String("client_key_file", &out->tls.client_key_file));
    if (out->tls.client_cert_file.empty() != out->tls.client_key_file.empty()) {
      return Status::Invalid("fhir.tls: client_cert_file and client_key_file go together");
    }
    for (auto [name, file] : {std::pair<const char*, std::string*>{"client_cert_file",
                                                                    &out->tls.client_cert_file},
                              {"client_key_file", &out->tls.client_key_file}}) {
      if (file->empty()) continue;
      *file = Resolve(base_dir, *file);
      // Read once to name a missing or unreadable file now rather than at the first handshake.
      CS_RETURN_IF_ERROR(ReadNamedFile(tls.Path(name), *file).status());
    }
  }
  if (const json::Value* r = s.Get("retry")) {
    Section retry(*r, "fhir.retry");
    CS_RETURN_IF_ERROR(retry.CheckObject());
    CS_RETURN_IF_ERROR(retry.OnlyKnown({"max_attempts", "initial_backoff_ms", "max_backoff_ms",
                                        "max_total_ms"}));
    CS_RETURN_IF_ERROR(retry.Int("max_attempts", &out->retry.max_attempts, 1, 20));
    CS_RETURN_IF_ERROR(retry.Millis("initial_backoff_ms", &out->retry.initial_backoff, 60000));
    CS_RETURN_IF_ERROR(retry.Millis("max_backoff_ms", &out->retry.max_backoff, 600000));
    CS_RETURN_IF_ERROR(retry.Millis("max_total_ms", &out->retry.max_total, 3600000));
  }
  return Status::Ok();
}

// store.postgres: where the database is (conninfo) and where its password comes from (an
// environment variable, never the file: a conninfo holding a password is refused).
Status ParsePostgres(const json::Value* v, Config* c) {
  if (v == nullptr) return Status::Invalid("store.postgres: required with backend \"postgres\"");
  Section pg(*v, "store.postgres");
  CS_RETURN_IF_ERROR(pg.CheckObject());
  CS_RETURN_IF_ERROR(pg.OnlyKnown({"conninfo", "password_env", "max_connections"}));
  CS_RETURN_IF_ERROR(pg.String("conninfo", &c->store_pg_conninfo));
  if (c->store_pg_conninfo.empty()) return Status::Invalid("store.postgres.conninfo: required");
  Status conninfo = core::pg::CheckConnInfo(c->store_pg_conninfo);
  if (!conninfo.ok()) return Status::Invalid("store.postgres.conninfo: " + conninfo.message());
  std::string env;
  CS_RETURN_IF_ERROR(pg.String("password_env", &env));
  if (!env.empty()) {
    c->store_pg_password = Env(env);
    if (c->store_pg_password.empty()) {
      return Status::Invalid("store.postgres.password_env: environment variable " + env +
                             " is not set");
    }
  }
  return pg.Int("max_connections", &c->store_pg_max_connections, 1, 100);
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string TokenHash(std::string_view token) { return core::Sha256Hex(token); }

Result<Config> Config::Load(const std::string& path) {
  auto text = core::ReadTextFile(path);
  if (!text.ok()) return text.status();
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  auto c = Parse(*text, fs::absolute(dir).lexically_normal().string());
  if (!c.ok()) return Status::Error(c.status().kind(), path + ": " + c.status().message());
  c->path = path;
  return c;
}

Result<Config> Config::Parse(std::string_view text, const std::string& base_dir) {
  auto doc = json::Parse(text, 32);
  if (!doc.ok()) return Status::Invalid("not JSON: " + doc.status().message());
  Config c;
  c.base_dir = base_dir;
  Section top(*doc, "");
  CS_RETURN_IF_ERROR(top.CheckObject());
  CS_RETURN_IF_ERROR(top.OnlyKnown({"$comment", "fhir", "store", "principals", "tokens",
                                    "approval_policy", "guardrails", "mappings", "worker",
                                    "task_mirror", "server"}));
  const json::Value* f = top.Get("fhir");
  if (!f) return Status::Invalid("fhir: required");
  CS_RETURN_IF_ERROR(ParseFhir(*f, base_dir, &c.fhir));
  if (!c.fhir.tls.verify) {
    c.warnings.push_back("fhir.tls.verify is false: the FHIR server's certificate and host name "
                         "are not checked; use it only with a throwaway test server");
  }
  if (c.fhir.base_url.rfind("http://", 0) == 0 && !IsLoopbackUrl(c.fhir.base_url)) {
    c.warnings.push_back("fhir.base_url is plain http:// to a host that is not loopback: "
                         "records and credentials cross the network unencrypted");
  }

  if (const json::Value* st = top.Get("store")) {
    Section s(*st, "store");
    CS_RETURN_IF_ERROR(s.CheckObject());
    CS_RETURN_IF_ERROR(s.OnlyKnown({"backend", "path", "group_commit", "postgres"}));
    CS_RETURN_IF_ERROR(s.String("backend", &c.store_backend));
    CS_RETURN_IF_ERROR(s.String("path", &c.store_path));
    CS_RETURN_IF_ERROR(s.Bool("group_commit", &c.group_commit));
    if (c.store_backend == "postgres") {
      CS_RETURN_IF_ERROR(ParsePostgres(s.Get("postgres"), &c));
    } else if (c.store_backend == "sqlite") {
      if (s.Get("postgres")) {
        return Status::Invalid("store.postgres: only with store.backend \"postgres\"");
      }
      if (c.store_path.empty()) return Status::Invalid("store.path: must not be empty");
    } else {
      return Status::Invalid("store.backend: must be \"sqlite\" or \"postgres\"");
    }
  }
  c.store_path = Resolve(base_dir, c.store_path);

  auto principals = Included(top.Get("principals"), "principals", base_dir, true);
  if (!principals.ok()) return principals.status();
  // The directory's format is {"principals": [...]}; an inline array is wrapped.
  c.principals_json = *principals;
  if (const json::Value* p = top.Get("principals"); p && p->IsArray()) {
    c.principals_json = "{\"principals\":" + *principals + "}";
  }
  auto dir = core::PrincipalDirectory::Parse(c.principals_json);
  if (!dir.ok()) return Status::Invalid("principals: " + dir.status().message());

  auto policy = Included(top.Get("approval_policy"), "approval_policy", base_dir, false);
  if (!policy.ok()) return policy.status();
  c.approval_policy_json = *policy;
  auto guardrails = Included(top.Get("guardrails"), "guardrails", base_dir, false);
  if (!guardrails.ok()) return guardrails.status();
  c.guardrails_json = *guardrails;

  if (const json::Value* t = top.Get("tokens")) {
    if (!t->IsArray()) return Status::Invalid("tokens: expected an array");
    for (rapidjson::SizeType i = 0; i < t->Size(); ++i) {
      std::string at = "tokens[" + std::to_string(i) + "]";
      Section e((*t)[i], at);
      CS_RETURN_IF_ERROR(e.CheckObject());
      CS_RETURN_IF_ERROR(e.OnlyKnown({"principal", "sha256", "$comment"}));
      TokenEntry entry;
      CS_RETURN_IF_ERROR(e.String("principal", &entry.principal));
      CS_RETURN_IF_ERROR(e.String("sha256", &entry.sha256));
      if (dir->Find(entry.principal) == nullptr) {
        return Status::Invalid(at + ".principal: unknown principal \"" + entry.principal + "\"");
      }
      if (!IsHex64(entry.sha256)) {
        return Status::Invalid(at + ".sha256: expected the token's SHA-256, 64 lowercase hex");
      }
      for (size_t j = 0; j < c.tokens.size(); ++j) {
        if (c.tokens[j].sha256 == entry.sha256) {  // one token, two principals: refuse
          return Status::Invalid(at + ".sha256: the same token as tokens[" + std::to_string(j) +
                                 "]");
        }
      }
      c.tokens.push_back(entry);
    }
  }

  if (const json::Value* m = top.Get("mappings")) {
    Section s(*m, "mappings");
    CS_RETURN_IF_ERROR(s.CheckObject());
    CS_RETURN_IF_ERROR(s.OnlyKnown({"rules_dir", "profiles"}));
    CS_RETURN_IF_ERROR(s.String("rules_dir", &c.rules_dir));
    if (const json::Value* p = s.Get("profiles")) {
      if (!p->IsObject()) return Status::Invalid("mappings.profiles: expected an object");
      for (const auto& kv : p->GetObject()) {
        std::string kind(kv.name.GetString(), kv.name.GetStringLength());
        if (!kv.value.IsString()) {
          return Status::Invalid("mappings.profiles." + kind + ": expected a profile name");
        }
        c.profiles[kind] = kv.value.GetString();
      }
    }
  }
  if (c.rules_dir.empty()) return Status::Invalid("mappings.rules_dir: required");
  c.rules_dir = Resolve(base_dir, c.rules_dir);

  if (const json::Value* w = top.Get("worker")) {
    Section s(*w, "worker");
    CS_RETURN_IF_ERROR(s.CheckObject());
    CS_RETURN_IF_ERROR(s.OnlyKnown({"enabled", "poll_ms", "batch", "lease_ms", "max_attempts",
                                    "retry_delay_ms"}));
    CS_RETURN_IF_ERROR(s.Bool("enabled", &c.worker_enabled));
    CS_RETURN_IF_ERROR(s.Int("poll_ms", &c.worker_poll_ms, 10, 3600000));
    CS_RETURN_IF_ERROR(s.Int("batch", &c.worker_batch, 1, 1000));
    CS_RETURN_IF_ERROR(s.Int("lease_ms", &c.worker_lease_ms, 1000, 86400000));
    CS_RETURN_IF_ERROR(s.Int("max_attempts", &c.worker_max_attempts, 1, 1000));
    CS_RETURN_IF_ERROR(s.Int("retry_delay_ms", &c.worker_retry_delay_ms, 0, 86400000));
  }
  if (const json::Value* tm = top.Get("task_mirror")) {
    Section s(*tm, "task_mirror");
    CS_RETURN_IF_ERROR(s.CheckObject());
    CS_RETURN_IF_ERROR(s.OnlyKnown({"enabled", "batch"}));
    CS_RETURN_IF_ERROR(s.Bool("enabled", &c.task_mirror_enabled));
    CS_RETURN_IF_ERROR(s.Int("batch", &c.task_mirror_batch, 1, 10000));
  }
  if (const json::Value* sv = top.Get("server")) {
    Section s(*sv, "server");
    CS_RETURN_IF_ERROR(s.CheckObject());
    CS_RETURN_IF_ERROR(s.OnlyKnown({"listen", "threads", "max_body_bytes", "max_json_depth",
                                    "tls", "behind_tls_proxy", "max_header_bytes",
                                    "max_url_bytes", "max_headers", "header_timeout_s",
                                    "idle_timeout_s", "request_timeout_s", "max_connections"}));
    std::string listen;
    CS_RETURN_IF_ERROR(s.String("listen", &listen));
    if (!listen.empty()) CS_RETURN_IF_ERROR(ParseListen(listen, &c.listen_host, &c.listen_port));
    CS_RETURN_IF_ERROR(s.Int("threads", &c.listen_threads, 1, 256));
    CS_RETURN_IF_ERROR(s.Int("max_body_bytes", &c.max_body_bytes, 1024, int64_t{64} << 20));
    CS_RETURN_IF_ERROR(s.Int("max_json_depth", &c.max_json_depth, 4, 256));
    CS_RETURN_IF_ERROR(s.Int("max_header_bytes", &c.max_header_bytes, 1024, 1 << 20));
    CS_RETURN_IF_ERROR(s.Int("max_url_bytes", &c.max_url_bytes, 256, 1 << 20));
    CS_RETURN_IF_ERROR(s.Int("max_headers", &c.max_headers, 8, 10000));
    CS_RETURN_IF_ERROR(s.Int("header_timeout_s", &c.header_timeout_s, 1, 3600));
    CS_RETURN_IF_ERROR(s.Int("idle_timeout_s", &c.idle_timeout_s, 1, 3600));
    CS_RETURN_IF_ERROR(s.Int("request_timeout_s", &c.request_timeout_s, 1, 3600));
    CS_RETURN_IF_ERROR(s.Int("max_connections", &c.max_connections, 1, 1000000));
    CS_RETURN_IF_ERROR(s.Bool("behind_tls_proxy", &c.behind_tls_proxy));
    if (const json::Value* t = s.Get("tls")) {
      Section tls(*t, "server.tls");
      CS_RETURN_IF_ERROR(tls.CheckObject());
      CS_RETURN_IF_ERROR(tls.OnlyKnown({"cert_file", "key_file"}));
      CS_RETURN_IF_ERROR(tls.String("cert_file", &c.tls_cert_file));
      CS_RETURN_IF_ERROR(tls.String("key_file", &c.tls_key_file));
      if (c.tls_cert_file.empty() || c.tls_key_file.empty()) {
        return Status::Invalid("server.tls: cert_file and key_file are both required");
      }
      c.tls_cert_file = Resolve(c.base_dir, c.tls_cert_file);
      c.tls_key_file = Resolve(c.base_dir, c.tls_key_file);
      for (auto [name, file] : {std::pair<const char*, const std::string*>{"cert_file", &c.tls_cert_file},
                                {"key_file", &c.tls_key_file}}) {
        CS_RETURN_IF_ERROR(ReadNamedFile(tls.Path(name), *file).status());
      }
    }
  }
  // The API carries bearer tokens and PHI: plain HTTP only on loopback, unless TLS ends in a
  // proxy in front (said explicitly).
  if (c.tls_cert_file.empty() && !c.behind_tls_proxy && !IsLoopbackListenHost(c.listen_host)) {
    return Status::Invalid("server.listen: " + c.listen_host +
                           " is not a loopback address: serve TLS (server.tls) or set "
                           "server.behind_tls_proxy when a TLS proxy is in front");
  }
  return c;
}

}  // namespace countersign::config
