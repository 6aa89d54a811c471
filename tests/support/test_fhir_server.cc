#include "tests/support/test_fhir_server.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fhir/json.h"

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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct TestFhirServer::Impl {
  std::string dir;  // temp: snapshot, stderr log
  std::string cert_dir;
  pid_t pid = -1;
  int port = 0;
  ServerConfig last_config;
  bool configured = false;

  std::string Scheme() const { return cert_dir.empty() ? "http" : "https"; }
  std::string CaFile() const { return cert_dir.empty() ? "" : cert_dir + "/ca.pem"; }

  Status Launch(int wanted_port) {
    int fds[2];
    if (pipe(fds) != 0) return Status::Internal("pipe failed");
    std::string log = dir + "/server.stderr";
    pid_t child = fork();
    if (child < 0) return Status::Internal("fork failed");
    if (child == 0) {
      setpgid(0, 0);
      dup2(fds[1], STDOUT_FILENO);
      int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) dup2(err, STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::string port_arg = std::to_string(wanted_port);
      std::string snapshot = dir + "/snapshot.json";
      std::string script = ServerScript();
      std::vector<std::string> args = {"node", script, "--port", port_arg, "--snapshot", snapshot};
      if (!cert_dir.empty()) {
        args.insert(args.end(), {"--tls-cert", cert_dir + "/server.pem", "--tls-key",
                                 cert_dir + "/server-key.pem"});
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("node", argv.data());
      _exit(127);
    }
    close(fds[1]);
    pid = child;
    // Wait for "LISTENING <port>".
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[256];
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    if (line.rfind("LISTENING ", 0) != 0) {
      Stop();
      return Status::Unavailable("the test FHIR server did not start (node " + ServerScript() +
                                 "); stderr: " + ReadFile(log) +
                                 " — are its modules installed? run scripts/install-deps.sh");
    }
    port = std::atoi(line.c_str() + 10);
    return Status::Ok();
  }

  void Stop() {
    if (pid <= 0) return;
    kill(-pid, SIGTERM);  // the server saves its snapshot on SIGTERM
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
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
  json::Set(d, "delayMs", json::Value(fault.delay_ms), a);
  return ExpectOk(Exchange("POST", admin_url() + "/faults", json::Stringify(d), {},
                           impl_->CaFile()), "faults");
}

Status TestFhirServer::ClearFaults() {
  return ExpectOk(Exchange("DELETE", admin_url() + "/faults", "", {}, impl_->CaFile()), "faults");
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
    s.had_authorization = json::GetBool(e, "hadAuthorization").value_or(false);
    out.push_back(std::move(s));
  }
  return out;
}

Status TestFhirServer::Restart() {
  int old_port = impl_->port;
  impl_->Stop();
  Status s;
  // The port may linger for a moment after the old process exits.
  for (int i = 0; i < 20; ++i) {
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
  if (!impl_->last_config.bearer_token.empty()) {
    h.push_back("Authorization: Bearer " + impl_->last_config.bearer_token);
  }
  return Exchange(method, base_url() + path_and_query, body, h, impl_->CaFile());
}

TestFhirServer& SharedTestFhirServer() {
  static std::unique_ptr<TestFhirServer> server;
  if (!server) {
    auto started = TestFhirServer::Start();
    if (!started.ok()) throw std::runtime_error(started.status().ToString());
    server = std::move(started).value();
  }
  Status s = server->Reset();
  if (!s.ok()) throw std::runtime_error("resetting the test FHIR server: " + s.ToString());
  return *server;
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
      "-out server.pem -days 2 -extfile san.ext >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) return Status::Internal("openssl failed making test certificates in " + dir);
  return Status::Ok();
}

}  // namespace countersign::testing
