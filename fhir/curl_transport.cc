// The libcurl HttpTransport: one easy handle per instance, so its connection (and TLS session)
// is reused for every request to the same server.
#include <curl/curl.h>

#include <mutex>

#include "fhir/client.h"

namespace countersign::fhir {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  auto* headers = static_cast<Headers*>(out);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (e.g. after 100 Continue): keep only the last one's
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  headers->emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return size * n;
}

// The URL for a message: the request line as sent, query included (the cause of a refusal is
// often in it), without userinfo (credentials) or fragment.
std::string UrlForMessage(std::string_view url) {
  url = url.substr(0, url.find('#'));
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t host = scheme + 3;
  size_t at = url.find('@', host);
  if (at != std::string_view::npos && at < url.find_first_of("/?", host)) {
    return std::string(url.substr(0, host)) + std::string(url.substr(at + 1));
  }
  return std::string(url);
}

bool IsTlsVerificationError(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(const ClientOptions& options) : options_(options) {
    GlobalInit();
    curl_ = curl_easy_init();
  }
  ~CurlTransport() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (curl_ == nullptr) return Status::Internal("curl_easy_init failed");
    curl_easy_reset(curl_);  // keeps the connection cache; clears per-request options
    HttpResponse response;
    curl_slist* list = nullptr;
    for (const auto& [name, value] : request.headers) {
      list = curl_slist_append(list, (name + ": " + value).c_str());
    }
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
    auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);  // never carry credentials elsewhere
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, options_.tls.verify ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, options_.tls.verify ? 2L : 0L);
    if (!options_.tls.ca_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CAINFO, options_.tls.ca_file.c_str());
    }
    if (!options_.tls.client_cert_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_SSLCERT, options_.tls.client_cert_file.c_str());
      curl_easy_setopt(curl_, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(curl_, CURLOPT_SSLKEY, options_.tls.client_key_file.c_str());
      curl_easy_setopt(curl_, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (request.method == "GET") {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (request.method != "DELETE" || !request.body.empty()) {
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
      }
    }
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
    CURLcode rc = curl_easy_perform(curl_);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);  // `detail` goes out of scope
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
      // Method and URL only: headers (credentials) are never part of a message.
      std::string what = request.method + " " + UrlForMessage(request.url) + ": ";
      std::string cause = curl_easy_strerror(rc);
      if (detail[0] != '\0') cause += " (" + std::string(detail) + ")";
      if (rc == CURLE_OPERATION_TIMEDOUT) {
        return Status::Timeout(what + "no answer within " + std::to_string(timeout.count()) +
                               " ms: " + cause);
      }
      if (IsTlsVerificationError(rc)) {
        return Status::Network(what + "TLS certificate verification failed: " + cause +
                               "; configure the server's CA (tls.ca_file) to trust it");
      }
      return Status::Network(what + cause);
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  ClientOptions options_;
  CURL* curl_ = nullptr;
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport(const ClientOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace countersign::fhir
