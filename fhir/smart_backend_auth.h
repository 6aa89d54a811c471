// SMART Backend Services client authentication (SMART App Launch 2.x, "client-confidential-
// asymmetric"): what Epic's, Oracle Health's and SMART Health IT's R4 servers ask of a system
// that writes with no user at the keyboard. Countersign signs a short-lived JWT with its private
// key (the client assertion, RFC 7523), posts it to the authorization server's token endpoint
// (OAuth 2.0 client_credentials grant) and sends the access token it gets back as
// "Authorization: Bearer" until shortly before it expires, or until the FHIR server answers 401.
//
// Secrets: the private key, the assertions and the access tokens are never logged nor put in a
// Status message; FhirClient redacts the current token and assertion from server echoes too.
// Transport: the token endpoint must be https:// (http:// only on a loopback address, for tests);
// TLS verification is the client's (ClientOptions::tls).
//
// Threading: SigningKey is immutable and thread-safe. SmartTokenSource may be called from
// several threads; one of them fetches a new token while the others wait for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/http_transport.h"
#include "fhir/status.h"

namespace countersign::fhir {

struct SmartBackendOptions {
  std::string client_id;        // as registered with the authorization server ("iss", "sub")
  std::string key_id;           // "kid" of the public key the server holds for this client
  std::string private_key_pem;  // RSA >= 2048 bits (signs RS384) or EC P-384 (ES384). A secret
  std::string scope;            // e.g. "system/DocumentReference.cru system/Provenance.c"
  // Empty: the token_endpoint of [base]/.well-known/smart-configuration, read once.
  std::string token_url;
  bool enabled() const { return !client_id.empty(); }
};

// A private key parsed once: RS384 for RSA keys, ES384 for EC keys on P-384; anything else
// (another curve, RSA under 2048 bits, an encrypted PEM) is refused when parsed.
class SigningKey {
 public:
  static Result<std::shared_ptr<const SigningKey>> FromPem(std::string_view pem);
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const char* algorithm() const { return algorithm_; }  // "RS384" or "ES384"
  // The JWS signature of data (RFC 7518: PKCS#1 v1.5 with SHA-384, or the 96-byte r||s of
  // ECDSA P-384 with SHA-384).
  Result<std::string> Sign(std::string_view data) const;

 private:
  SigningKey(void* pkey, const char* algorithm) : pkey_(pkey), algorithm_(algorithm) {}
  void* pkey_;  // EVP_PKEY*, owned (kept out of this header: no OpenSSL includes here)
  const char* algorithm_;
};

// base64url without padding (RFC 7515 section 2).
std::string Base64UrlEncode(std::string_view bytes);

// The compact JWS "header.claims.signature" of a client assertion (RFC 7523 section 3, SMART
// Backend Services): header {alg, kid, typ: JWT}; claims iss = sub = client_id, aud = token_url,
// exp = now_s + 300 (the most SMART allows), and a fresh random jti.
Result<std::string> MakeClientAssertion(const SigningKey& key, const std::string& client_id,
                                        const std::string& key_id, const std::string& token_url,
                                        int64_t now_s);

// OK for https:// URLs, and for http:// on 127.0.0.1, [::1] or localhost; else kInvalid naming
// the URL's role ("token endpoint").
Status CheckTokenEndpointUrl(std::string_view url);

// The access token cache of one FhirClient. `send` sends one request with no retries and no
// Authorization header (the client's transport pool); `fhir_base` is the FHIR base URL, for
// discovery.
class SmartTokenSource {
 public:
  using SendFn = std::function<Result<HttpResponse>(const HttpRequest&)>;
  SmartTokenSource(SmartBackendOptions options, std::shared_ptr<const SigningKey> key,
                   std::string fhir_base, std::chrono::milliseconds timeout, SendFn send);

  // A token that is not about to expire. `rejected`: the token the FHIR server just answered
  // 401 to; when it is still the cached one, a new one is fetched. Errors: kUnauthorized when
  // the authorization server refuses the client (its OAuth error and description in the
  // message), kUnavailable / kTimeout / kNetwork when it could not be asked (nothing was sent to
  // the FHIR server, so the caller may try again), kInvalid for a malformed answer.
  Result<std::string> Token(std::string_view rejected = {});

  // The current access token and the last assertion (for redaction); empty before the first.
  std::vector<std::string> Secrets() const;

 private:
  Result<std::string> Discover();
  Status Fetch();

  const SmartBackendOptions options_;
  const std::shared_ptr<const SigningKey> key_;
  const std::string fhir_base_;
  const std::chrono::milliseconds timeout_;
  const SendFn send_;

  std::mutex fetch_mu_;        // held by the one thread fetching; the others wait on it
  mutable std::mutex mu_;      // guards the members below
  std::string token_url_;      // configured or discovered
  std::string token_;
  std::string last_assertion_;
  std::chrono::steady_clock::time_point refresh_at_{};
};

}  // namespace countersign::fhir
