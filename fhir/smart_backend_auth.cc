#include "fhir/smart_backend_auth.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "fhir/bundle.h"
#include "fhir/json.h"

namespace countersign::fhir {
namespace {

EVP_PKEY* Pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

// An encrypted PEM would make OpenSSL's default callback prompt on the terminal; a daemon must
// fail instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

// RFC 3986 unreserved characters stay, everything else is %XX (application/x-www-form-urlencoded
// as OAuth token requests are sent).
std::string FormEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return {};
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "error: description" from an OAuth error answer (RFC 6749 section 5.2), or "" when the body is
// not one. Both are the server's words about the request, not secrets.
std::string OAuthError(const std::string& body) {
  auto doc = json::Parse(body, 16);
  if (!doc.ok() || !doc->IsObject()) return {};
  auto error = json::GetString(*doc, "error");
  if (!error) return {};
  std::string out(*error);
  if (auto d = json::GetString(*doc, "error_description"); d && !d->empty()) {
    out += ": " + std::string(*d);
  }
  return out;
}

}  // namespace

SigningKey::~SigningKey() { EVP_PKEY_free(Pkey(pkey_)); }

Result<std::shared_ptr<const SigningKey>> SigningKey::FromPem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Status::Invalid("the SMART private key is encrypted; give it unencrypted (PKCS#8 or "
                           "traditional PEM) and protect the file instead");
  }
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Status::Internal("out of memory reading the SMART private key");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, NoPassphrase, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) {
    return Status::Invalid("the SMART private key is not a PEM private key");
  }
  const char* algorithm = nullptr;
  std::string why;
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(pkey) >= 2048) algorithm = "RS384";
    else why = "an RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey)) + " bits (2048 at least)";
  } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) == 1 &&
        std::string_view(group) == "secp384r1") {
      algorithm = "ES384";
    } else {
      why = std::string("an EC key on ") + (group[0] ? group : "an unknown curve") +
            " (ES384 needs P-384, secp384r1)";
    }
  } else {
    why = "neither an RSA nor an EC key";
  }
  if (algorithm == nullptr) {
    EVP_PKEY_free(pkey);
    return Status::Invalid("the SMART private key is " + why +
                           "; SMART Backend Services signs with RS384 or ES384");
  }
  return std::shared_ptr<const SigningKey>(new SigningKey(pkey, algorithm));
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Status::Internal("out of memory signing");
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha384(), nullptr, Pkey(pkey_)) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::Internal("signing the SMART client assertion failed");
  if (std::string_view(algorithm_) != "ES384") return sig;
  // OpenSSL gives ECDSA signatures as DER; JWS wants r and s as two 48-byte big-endian numbers.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (es == nullptr) return Status::Internal("unreadable ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(es, &r, &s);
  std::string raw(96, '\0');
  ok = BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 48) == 48 &&
       BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 48, 48) == 48;
  ECDSA_SIG_free(es);
  if (!ok) return Status::Internal("ECDSA signature does not fit P-384");
  return raw;
}

// RFC 7515 section 2: the base64 alphabet with - and _ for + and /, and no padding.
std::string Base64UrlEncode(std::string_view in) {
  std::string out = Base64Encode(in);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> MakeClientAssertion(const SigningKey& key, const std::string& client_id,
                                        const std::string& key_id, const std::string& token_url,
                                        int64_t now_s) {
  const std::string jti = RandomHex(16);
  if (jti.empty()) return Status::Internal("no random bytes for the assertion's jti");
  json::Document header(rapidjson::kObjectType);
  auto& ha = header.GetAllocator();
  json::SetString(header, "alg", key.algorithm(), ha);
  json::SetString(header, "kid", key_id, ha);
  json::SetString(header, "typ", "JWT", ha);
  json::Document claims(rapidjson::kObjectType);
  auto& ca = claims.GetAllocator();
  json::SetString(claims, "iss", client_id, ca);
  json::SetString(claims, "sub", client_id, ca);
  json::SetString(claims, "aud", token_url, ca);
  json::Set(claims, "exp", json::Value(static_cast<int64_t>(now_s + 300)), ca);
  json::SetString(claims, "jti", jti, ca);
  std::string signing_input =
      Base64UrlEncode(json::Stringify(header)) + "." + Base64UrlEncode(json::Stringify(claims));
  auto sig = key.Sign(signing_input);
  if (!sig.ok()) return sig.status();
  return signing_input + "." + Base64UrlEncode(*sig);
}

Status CheckTokenEndpointUrl(std::string_view url) {
  if (url.rfind("https://", 0) == 0) return Status::Ok();
  if (url.rfind("http://", 0) == 0) {
    std::string_view rest = url.substr(7);
    for (std::string_view host : {"127.0.0.1", "localhost", "[::1]"}) {
      if (rest.rfind(host, 0) == 0) {
        std::string_view after = rest.substr(host.size());
        if (after.empty() || after[0] == ':' || after[0] == '/') return Status::Ok();
      }
    }
    return Status::Invalid("token endpoint " + std::string(url) +
                           ": plain http:// carries the client assertion and the access token "
                           "in the clear; https:// is required (http:// only on loopback)");
  }
  return Status::Invalid("token endpoint " + std::string(url) +
                         ": not an http(s) URL");
}

SmartTokenSource::SmartTokenSource(SmartBackendOptions options,
                                   std::shared_ptr<const SigningKey> key, std::string fhir_base,
                                   std::chrono::milliseconds timeout, SendFn send)
    : options_(std::move(options)),
      key_(std::move(key)),
      fhir_base_(std::move(fhir_base)),
      timeout_(timeout),
      send_(std::move(send)),
      token_url_(options_.token_url) {}

Result<std::string> SmartTokenSource::Token(std::string_view rejected) {
  auto usable = [&]() -> bool {
    return !token_.empty() && token_ != rejected && std::chrono::steady_clock::now() < refresh_at_;
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (usable()) return token_;
  }
  std::lock_guard<std::mutex> fetching(fetch_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (usable()) return token_;  // another thread fetched it while this one waited
  }
  CS_RETURN_IF_ERROR(Fetch());
  std::lock_guard<std::mutex> lock(mu_);
  return token_;
}

std::vector<std::string> SmartTokenSource::Secrets() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  if (!token_.empty()) out.push_back(token_);
  if (!last_assertion_.empty()) out.push_back(last_assertion_);
  return out;
}

// SMART App Launch 2.x section "Discovery": [base]/.well-known/smart-configuration, no auth.
Result<std::string> SmartTokenSource::Discover() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!token_url_.empty()) return token_url_;
  }
  std::string base = fhir_base_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpRequest req;
  req.method = "GET";
  req.url = base + "/.well-known/smart-configuration";
  req.timeout = timeout_;
  req.headers.emplace_back("Accept", "application/json");
  auto r = send_(req);
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return Status::Error(r->status >= 500 || r->status == 429 ? ErrorKind::kUnavailable
                                                              : ErrorKind::kInvalid,
                         "SMART discovery (GET .well-known/smart-configuration): HTTP " +
                             std::to_string(r->status) +
                             "; configure fhir.auth.smart_backend.token_url instead",
                         r->status);
  }
  auto doc = json::Parse(r->body, 32);
  std::optional<std::string_view> endpoint;
  if (doc.ok() && doc->IsObject()) endpoint = json::GetString(*doc, "token_endpoint");
  if (!endpoint || endpoint->empty()) {
    return Status::Invalid("SMART discovery: .well-known/smart-configuration names no "
                           "token_endpoint");
  }
  CS_RETURN_IF_ERROR(CheckTokenEndpointUrl(*endpoint));
  std::lock_guard<std::mutex> lock(mu_);
  token_url_ = std::string(*endpoint);
  return token_url_;
}

Status SmartTokenSource::Fetch() {
  auto url = Discover();
  if (!url.ok()) return url.status();
  auto assertion = MakeClientAssertion(*key_, options_.client_id, options_.key_id, *url,
                                       static_cast<int64_t>(std::time(nullptr)));
  if (!assertion.ok()) return assertion.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_assertion_ = *assertion;
  }
  HttpRequest req;
  req.method = "POST";
  req.url = *url;
  req.timeout = timeout_;
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = "grant_type=client_credentials&scope=" + FormEncode(options_.scope) +
             "&client_assertion_type=" +
             FormEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
             "&client_assertion=" + FormEncode(*assertion);
  auto r = send_(req);
  if (!r.ok()) {
    return Status::Error(r.status().kind(), "SMART token request: " + r.status().message());
  }
  const std::string status = "SMART token request: HTTP " + std::to_string(r->status);
  if (r->status == 429 || r->status >= 500) {
    return Status::Error(ErrorKind::kUnavailable, status, r->status);
  }
  if (r->status != 200) {
    std::string why = OAuthError(r->body);
    // RFC 6749 section 5.2: the authorization server refused this client or its grant.
    ErrorKind kind = r->status == 400 || r->status == 401 ? ErrorKind::kUnauthorized
                                                          : ErrorKind::kInvalid;
    return Status::Error(kind, status + (why.empty() ? "" : ": " + why), r->status);
  }
  auto doc = json::Parse(r->body, 32);
  if (!doc.ok() || !doc->IsObject()) return Status::Invalid(status + " but the answer is not JSON");
  auto token = json::GetString(*doc, "access_token");
  auto type = json::GetString(*doc, "token_type");
  if (!token || token->empty()) return Status::Invalid(status + " but no access_token");
  if (!type || Lower(*type) != "bearer") {
    return Status::Invalid(status + " but token_type is not bearer");
  }
  // expires_in is RECOMMENDED (RFC 6749 section 5.1); SMART's tokens live five minutes or so.
  int64_t lifetime_s = json::GetInt(*doc, "expires_in").value_or(300);
  if (lifetime_s <= 0) lifetime_s = 1;
  // Renewed a little before it expires (a quarter of its life, at most a minute), so a request
  // never leaves with a token that dies on the way.
  auto lifetime = std::chrono::milliseconds(lifetime_s * 1000);
  auto margin = std::min<std::chrono::milliseconds>(lifetime / 4, std::chrono::seconds(60));
  std::lock_guard<std::mutex> lock(mu_);
  token_ = std::string(*token);
  refresh_at_ = std::chrono::steady_clock::now() + lifetime - margin;
  return Status::Ok();
}

}  // namespace countersign::fhir
