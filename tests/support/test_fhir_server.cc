#include "tests/support/test_fhir_server.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fhir/json.h"

extern char** environ;

namespace countersign::testing {
namespace {

std::string ServerScript() {
  return std::string(COUNTERSIGN_SOURCE_DIR) + "/tests/fhir-server/server.js";
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  auto* r = static_cast<TestFhirServer::RawResponse*>(out);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    if (name == "etag") r->etag = value;
    if (name == "location") r->location = value;
  }
  return size * n;
}

// One plain HTTP exchange with libcurl (no retries, no client logic).
Result<TestFhirServer::RawResponse> Exchange(const std::string& method, const std::string& url,
                                            const std::string& body,
                                            const std::vector<std::string>& headers,
                                            const std::string& ca_file) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("curl_easy_init failed");
  TestFhirServer::RawResponse r;
  curl_slist* list = nullptr;
  bool has_type = false;
  for (const auto& h : headers) {
    list = curl_slist_append(list, h.c_str());
    if (h.rfind("Content-Type:", 0) == 0) has_type = true;
  }
  if (!has_type && !body.empty()) list = curl_slist_append(list, "Content-Type: application/fhir+json");
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return Status::Network(method + " " + url + ": " + curl_easy_strerror(rc));
  }
  r.status = static_cast<int>(status);
  return r;
}

std::string Errno() { return std::strerror(errno); }

std::string Base64(const std::string& in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ServerConfig EpicSandboxConfig() {
  ServerConfig config;
  config.capability_statement_json = ReadFile(std::string(COUNTERSIGN_SOURCE_DIR) +
                                              "/fixtures/servers/epic-r4-capabilitystatement.json");
  return config;
}

struct TestFhirServer::Impl {
  std::string dir;  // temp: snapshot, stderr log
  std::string cert_dir;
  pid_t pid = -1;
  int port = 0;
  ServerConfig last_config;
  bool configured = false;

  std::string Scheme() const { return cert_dir.empty() ? "http" : "https"; }
  std::string CaFile() const { return cert_dir.empty() ? "" : cert_dir + "/ca.pem"; }

  // Spawns node in its own process group (so Stop() reaches anything it starts) with stdout on a
  // pipe and stderr in dir/server.stderr, then waits for its "LISTENING <port>" line.
  Status Launch(int wanted_port) {
    std::string log = dir + "/server.stderr";
    std::vector<std::string> args = {"node",     ServerScript(),
                                     "--port",   std::to_string(wanted_port),
                                     "--snapshot", dir + "/snapshot.json"};
    if (!cert_dir.empty()) {
      args.insert(args.end(), {"--tls-cert", cert_dir + "/server.pem", "--tls-key",
                               cert_dir + "/server-key.pem", "--tls-client-ca",
                               cert_dir + "/ca.pem"});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("pipe2 failed: " + Errno());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t child = -1;
    int rc = posix_spawnp(&child, "node", &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      return Status::Unavailable(std::string("cannot run node (is node 20 installed?): ") +
                                 std::strerror(rc));
    }
    pid = child;

    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fds[0], POLLIN, 0};
      int ready = poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      char buf[256];
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // node exited (bad modules, port taken, ...)
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    int got = line.rfind("LISTENING ", 0) == 0 ? std::atoi(line.c_str() + 10) : 0;
    if (got <= 0 || (wanted_port != 0 && got != wanted_port)) {
      Stop();
      return Status::Unavailable("the test FHIR server did not start within 20 s (node " +
                                 ServerScript() + " --port " + std::to_string(wanted_port) +
                                 "); stdout: '" + line + "'; stderr: " + ReadFile(log) +
                                 " -- are its modules installed? run scripts/install-deps.sh");
    }
    port = got;
    return Status::Ok();
  }

  // SIGTERM (the server compacts its snapshot and exits), SIGKILL after ~3 s; the journal it
  // appends after every write keeps the data either way.
  void Stop() {
    if (pid <= 0) return;
    kill(-pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      pid_t done = waitpid(pid, nullptr, WNOHANG);
      if (done == pid || (done < 0 && errno == ECHILD)) {
        pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    kill(-pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
  }
};

Result<std::unique_ptr<TestFhirServer>> TestFhirServer::Start(const std::string& cert_dir) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  std::unique_ptr<TestFhirServer> server(new TestFhirServer());
  server->impl_ = std::make_unique<Impl>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "countersign-fhir-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Status::IoError("mkdtemp failed");
  server->impl_->dir = tmpl;
  server->impl_->cert_dir = cert_dir;
  CS_RETURN_IF_ERROR(server->impl_->Launch(0));
  return server;
}

TestFhirServer::~TestFhirServer() {
  if (!impl_) return;
  impl_->Stop();
  std::error_code ec;
  std::filesystem::remove_all(impl_->dir, ec);
}

int TestFhirServer::port() const { return impl_->port; }

std::string TestFhirServer::base_url() const {
  return impl_->Scheme() + "://127.0.0.1:" + std::to_string(impl_->port) + "/fhir/R4";
}

std::string TestFhirServer::token_url() const {
  return impl_->Scheme() + "://127.0.0.1:" + std::to_string(impl_->port) + "/auth/token";
}

std::string TestFhirServer::admin_url() const {
  return impl_->Scheme() + "://127.0.0.1:" + std::to_string(impl_->port) + "/$admin";
}

namespace {
Status ExpectOk(const Result<TestFhirServer::RawResponse>& r, const char* what) {
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return Status::Internal(std::string("test server admin ") + what + ": HTTP " +
                            std::to_string(r->status) + " " + r->body);
  }
  return Status::Ok();
}
}  // namespace

Status TestFhirServer::Reset() {
  impl_->configured = false;
  impl_->last_config = ServerConfig{};
  return ExpectOk(Exchange("POST", admin_url() + "/reset", "{}", {}, impl_->CaFile()), "reset");
}

Status TestFhirServer::Configure(const ServerConfig& config) {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::Set(d, "transactions", json::Value(config.transactions), a);
  json::Set(d, "batch", json::Value(config.batch), a);
  json::Set(d, "versionConflictStatus", json::Value(config.version_conflict_status), a);
  json::Set(d, "requireIfMatch", json::Value(config.require_if_match), a);
  json::Value types(rapidjson::kArrayType);
  for (const auto& t : config.read_only_types) types.PushBack(json::String(t, a), a);
  json::Set(d, "readOnlyTypes", std::move(types), a);
  json::Set(d, "readOnlyStatus", json::Value(config.read_only_status), a);
  json::SetString(d, "bearerToken", config.bearer_token, a);
  json::SetString(d, "basicUser", config.basic_user, a);
  json::SetString(d, "basicPassword", config.basic_password, a);
  json::Set(d, "conditionalCreate", json::Value(config.conditional_create), a);
  json::Set(d, "delayMs", json::Value(config.delay_ms), a);
  json::Set(d, "resolveVersionSpecific", json::Value(config.resolve_version_specific), a);
  json::Set(d, "returnMinimal", json::Value(config.return_minimal), a);
  json::Set(d, "requireClientCert", json::Value(config.require_client_cert), a);
  if (config.smart_backend) {
    json::Value sb(rapidjson::kObjectType);
    json::SetString(sb, "clientId", config.smart_backend->client_id, a);
    json::SetString(sb, "keyId", config.smart_backend->key_id, a);
    json::SetString(sb, "publicKeyPem", config.smart_backend->public_key_pem, a);
    json::Set(sb, "tokenLifetimeS", json::Value(config.smart_backend->token_lifetime_s), a);
    json::Set(d, "smartBackend", std::move(sb), a);
  }
  if (!config.capability_statement_json.empty()) {
    auto cs = json::Parse(config.capability_statement_json, 256);
    if (!cs.ok()) return cs.status();
    json::Set(d, "capabilityStatement", json::Copy(*cs, a), a);
  }
  Status s = ExpectOk(Exchange("PUT", admin_url() + "/config", json::Stringify(d), {},
                               impl_->CaFile()), "config");
  if (s.ok()) {
    impl_->last_config = config;
    impl_->configured = true;
  }
  return s;
}

Status TestFhirServer::AddFault(const Fault& fault) {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::SetString(d, "method", fault.method, a);
  json::SetString(d, "path", fault.path_regex, a);
  json::Set(d, "status", json::Value(fault.status), a);
  if (fault.retry_after_s >= 0) json::Set(d, "retryAfter", json::Value(fault.retry_after_s), a);
  json::SetString(d, "when", fault.after_apply ? "after" : "before", a);
  json::Set(d, "count", json::Value(fault.count), a);
  json::Set(d, "every", json::Value(fault.every), a);
  json::Set(d, "delayMs", json::Value(fault.delay_ms), a);
  return ExpectOk(Exchange("POST", admin_url() + "/faults", json::Stringify(d), {},
                           impl_->CaFile()), "faults");
}

Status TestFhirServer::ClearFaults() {
  return ExpectOk(Exchange("DELETE", admin_url() + "/faults", "", {}, impl_->CaFile()), "faults");
}

Status TestFhirServer::RevokeTokens() {
  return ExpectOk(Exchange("POST", admin_url() + "/revoke-tokens", "", {}, impl_->CaFile()),
                  "revoke-tokens");
}

Result<std::vector<SeenRequest>> TestFhirServer::Requests() {
  auto r = Exchange("GET", admin_url() + "/requests", "", {}, impl_->CaFile());
  CS_RETURN_IF_ERROR(ExpectOk(r, "requests"));
  auto d = json::Parse(r->body, 16);
  if (!d.ok()) return d.status();
  std::vector<SeenRequest> out;
  for (const auto& e : d->GetArray()) {
    SeenRequest s;
    s.method = std::string(json::GetString(e, "method").value_or(""));
    s.path = std::string(json::GetString(e, "path").value_or(""));
    s.status = static_cast<int>(json::GetInt(e, "status").value_or(0));
    s.if_match = std::string(json::GetString(e, "ifMatch").value_or(""));
    s.if_none_exist = std::string(json::GetString(e, "ifNoneExist").value_or(""));
    s.prefer = std::string(json::GetString(e, "prefer").value_or(""));
    s.had_authorization = json::GetBool(e, "hadAuthorization").value_or(false);
    out.push_back(std::move(s));
  }
  return out;
}

Status TestFhirServer::Restart() {
  int old_port = impl_->port;
  impl_->Stop();
  Status s;
  // Stop() has reaped the old process, so the port is free (node listens with SO_REUSEADDR); a
  // few tries only in case another process grabbed it meanwhile.
  for (int i = 0; i < 3; ++i) {
    s = impl_->Launch(old_port);
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CS_RETURN_IF_ERROR(s);
  if (impl_->configured) return Configure(impl_->last_config);  // the config is not persisted
  return Status::Ok();
}

Result<TestFhirServer::RawResponse> TestFhirServer::Raw(const std::string& method,
                                                        const std::string& path_and_query,
                                                        const std::string& body,
                                                        const std::vector<std::string>& headers) {
  std::vector<std::string> h = headers;
  bool has_auth = false;
  for (const auto& line : headers) {
    has_auth = has_auth || strncasecmp(line.c_str(), "Authorization:", 14) == 0;
  }
  const ServerConfig& c = impl_->last_config;
  if (!has_auth && !c.bearer_token.empty()) {
    h.push_back("Authorization: Bearer " + c.bearer_token);
  } else if (!has_auth && !c.basic_user.empty()) {
    h.push_back("Authorization: Basic " + Base64(c.basic_user + ":" + c.basic_password));
  }
  return Exchange(method, base_url() + path_and_query, body, h, impl_->CaFile());
}

TestFhirServer& SharedTestFhirServer() {
  // Boost.Test turns the exception into a failure of the calling test with this message; a
  // server that could not start is not tried again for every test (20 s each).
  static std::unique_ptr<TestFhirServer> server;
  static std::string failed;
  if (!failed.empty()) throw std::runtime_error(failed);
  if (!server) {
    auto started = TestFhirServer::Start();
    if (!started.ok()) {
      failed = "the shared test FHIR server cannot start: " + started.status().ToString();
      throw std::runtime_error(failed);
    }
    server = std::move(started).value();
  }
  Status s = server->Reset();
  if (!s.ok()) throw std::runtime_error("resetting the shared test FHIR server: " + s.ToString());
  return *server;
}

Status MakeTestSigningKeys(const std::string& dir) {
  std::string q = "'" + dir + "'";
  std::string cmd =
      "cd " + q + " && "
      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rs384.pem "
      ">/dev/null 2>&1 && openssl pkey -in rs384.pem -pubout -out rs384.pub.pem >/dev/null 2>&1 && "
      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rs384-other.pem "
      ">/dev/null 2>&1 && "
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out es384.pem "
      ">/dev/null 2>&1 && openssl pkey -in es384.pem -pubout -out es384.pub.pem >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return Status::Internal("openssl failed making keys in " + dir);
  return Status::Ok();
}

Status MakeTestCertificates(const std::string& dir) {
  std::ofstream(dir + "/san.ext") << "subjectAltName=IP:127.0.0.1\n";
  std::string q = "'" + dir + "'";
  std::string cmd =
      "cd " + q + " && "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 "
      "-subj /CN=Countersign-Test-CA >/dev/null 2>&1 && "
      "openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr "
      "-subj /CN=127.0.0.1 >/dev/null 2>&1 && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial "
      "-out server.pem -days 2 -extfile san.ext >/dev/null 2>&1 && "
      "openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr "
      "-subj /CN=countersign-test-client >/dev/null 2>&1 && "
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial "
      "-out client.pem -days 2 >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) return Status::Internal("openssl failed making test certificates in " + dir);
  return Status::Ok();
}

}  // namespace countersign::testing
