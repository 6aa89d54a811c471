#include "plugin/cli/backend.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <stdexcept>
#include <unistd.h>

#include "plugin/config/service.h"
#include "plugin/daemon/api.h"

namespace countersign::cli {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

class RemoteBackend : public Backend {
 public:
  explicit RemoteBackend(std::string base) : base_(std::move(base)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ = curl_easy_init();
  }
  ~RemoteBackend() override { curl_easy_cleanup(curl_); }

  Result<Reply> Send(const Call& call) override {
    std::string url = base_ + call.path;
    char sep = '?';
    for (const auto& [k, v] : call.query) {
      char* ek = curl_easy_escape(curl_, k.c_str(), static_cast<int>(k.size()));
      char* ev = curl_easy_escape(curl_, v.c_str(), static_cast<int>(v.size()));
      url += sep + std::string(ek) + "=" + ev;
      sep = '&';
      curl_free(ek);
      curl_free(ev);
    }
    curl_easy_reset(curl_);
    Reply reply;
    curl_slist* headers = nullptr;
    if (!call.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + call.token).c_str());
    if (!call.body.empty()) headers = curl_slist_append(headers, ("Content-Type: " + call.content_type).c_str());
    if (!call.idempotency_key.empty()) {
      headers = curl_slist_append(headers, ("Idempotency-Key: " + call.idempotency_key).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    if (call.method != "GET") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, call.body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(call.body.size()));
    }
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      return Status::Network("cannot reach the daemon at " + base_ + ": " + curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    reply.status = static_cast<int>(status);
    return reply;
  }

 private:
  std::string base_;
  CURL* curl_ = nullptr;
};

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::unique_ptr<config::Service> service) : service_(std::move(service)) {
    config::Service* s = service_.get();
    operator_secret_ = RandomHex();
    daemon::ApiDeps deps;
    deps.coordinator = &s->coordinator();
    deps.store = &s->store();
    deps.policy = &s->policy();
    // The operator's token is a per-process secret that never leaves this process: the Api
    // keeps its one rule (every call authenticates) and the audit trail names the operator.
    deps.authenticate = [s, secret = operator_secret_](std::string_view token)
        -> Result<core::Principal> {
      if (token.size() == secret.size() &&
          CRYPTO_memcmp(token.data(), secret.data(), secret.size()) == 0) {
        return core::Principal{LocalOperatorId(), "local operator", {core::role::kAdmin}, {}};
      }
      return s->Authenticate(token);
    };
    deps.read_current = [s](const std::string& ref) { return s->ReadCurrent(ref); };
    deps.log = [](const std::string&) {};  // the CLI prints results, not request logs
    deps.limits.max_body_bytes = s->config().max_body_bytes;
    deps.limits.max_json_depth = s->config().max_json_depth;
    api_ = std::make_unique<daemon::Api>(deps);
  }

  Result<Reply> Send(const Call& call) override {
    daemon::HttpServerRequest req;
    req.method = call.method;
    req.path = call.path;
    req.query = call.query;
    req.body = call.body;
    if (!call.token.empty()) {
      req.headers["Authorization"] = "Bearer " + call.token;
    } else if (call.as_operator) {
      req.headers["Authorization"] = "Bearer " + operator_secret_;
    }
    if (!call.body.empty()) req.headers["Content-Type"] = call.content_type;
    if (!call.idempotency_key.empty()) req.headers["Idempotency-Key"] = call.idempotency_key;
    req.remote_address = "cli";
    daemon::HttpServerResponse resp = api_->Handle(req);
    return Reply{resp.status, std::move(resp.body)};
  }
  config::Service* service() override { return service_.get(); }

 private:
  static std::string RandomHex() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness");
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
    return out;
  }

  std::unique_ptr<config::Service> service_;
  std::string operator_secret_;
  std::unique_ptr<daemon::Api> api_;
};

}  // namespace

std::string LocalOperatorId() {
  std::string name;
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    name = pw->pw_name;
  }
  if (name.empty()) name = "uid-" + std::to_string(geteuid());
  return "operator:" + name;
}

std::unique_ptr<Backend> MakeRemoteBackend(const std::string& base_url) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::make_unique<RemoteBackend>(base);
}

Result<std::unique_ptr<Backend>> MakeLocalBackend(const std::string& config_path) {
  auto cfg = config::Config::Load(config_path);
  if (!cfg.ok()) return cfg.status();
  auto service = config::Service::Open(*cfg);
  if (!service.ok()) return service.status();
  return std::unique_ptr<Backend>(new LocalBackend(std::move(service).value()));
}

}  // namespace countersign::cli
