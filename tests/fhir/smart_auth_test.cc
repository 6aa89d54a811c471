// SMART Backend Services against the loopback server's authorization server emulation
// (tests/fhir-server: it checks each client assertion's signature with the registered public key,
// kid, iss/sub, aud, exp and jti, and accepts only the tokens it issued): one token reused, ES384
// with discovery, renewal before expiry and after a 401 without a duplicated POST, a wrong key
// refused with a clear message and nothing sent to the FHIR endpoints, a token endpoint that is
// down retried. Plus the pure parts: key checks, assertion shape, base64url, endpoint URLs.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fhir/client.h"
#include "fhir/json.h"
#include "fhir/smart_backend_auth.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::fhir {
namespace {

using testing::SeenRequest;
using testing::ServerConfig;
using testing::SharedTestFhirServer;
using testing::TestFhirServer;

constexpr const char* kClientId = "countersign-test-client";
constexpr const char* kKeyId = "countersign-test-key-1";
constexpr const char* kRawToken = "raw-checks-token";  // for the test's own Raw() reads

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Keys made once per test binary (OpenSSL CLI), in a temporary directory.
const std::string& KeyDir() {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / "countersign-smart-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(d.data()) != nullptr);
    Status s = testing::MakeTestSigningKeys(d);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
    return d;
  }();
  return dir;
}
std::string Key(const std::string& name) { return ReadFile(KeyDir() + "/" + name); }

ServerConfig SmartServer(const std::string& public_key_file, int lifetime_s = 300) {
  ServerConfig c;
  c.bearer_token = kRawToken;
  c.smart_backend = ServerConfig::SmartClient{kClientId, kKeyId, Key(public_key_file), lifetime_s};
  return c;
}

std::unique_ptr<FhirClient> SmartClient(TestFhirServer& server, const std::string& private_key_file,
                                        bool discover = false) {
  ClientOptions options;
  options.base_url = server.base_url();
  options.retry.initial_backoff = std::chrono::milliseconds(5);
  options.auth.smart_backend.client_id = kClientId;
  options.auth.smart_backend.key_id = kKeyId;
  options.auth.smart_backend.private_key_pem = Key(private_key_file);
  options.auth.smart_backend.scope = "system/*.cruds";
  if (!discover) options.auth.smart_backend.token_url = server.token_url();
  auto c = FhirClient::Create(options);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c).value();
}

json::Document Patient() {
  auto d = json::Parse(R"({"resourceType":"Patient","active":true})");
  BOOST_REQUIRE(d.ok());
  return std::move(d).value();
}

bool IsTokenRequest(const SeenRequest& r) { return r.path == "/auth/token"; }

int Count(const std::vector<SeenRequest>& seen, const std::function<bool(const SeenRequest&)>& f) {
  int n = 0;
  for (const auto& r : seen) n += f(r) ? 1 : 0;
  return n;
}

std::vector<SeenRequest> Seen(TestFhirServer& server) {
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  return std::move(seen).value();
}

size_t PatientsOnServer(TestFhirServer& server) {
  auto r = server.Raw("GET", "/Patient?_count=1000");
  BOOST_REQUIRE(r.ok() && r->status == 200);
  auto b = json::Parse(r->body);
  const json::Value* entries = json::Member(*b, "entry");
  return entries ? entries->Size() : 0;
}

std::string DecodeBase64Url(std::string_view in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    size_t v = kAlphabet.find(c);
    BOOST_REQUIRE(v != std::string::npos);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(smart_backend)

BOOST_AUTO_TEST_CASE(base64url_without_padding) {
  BOOST_TEST(Base64UrlEncode("") == "");
  BOOST_TEST(Base64UrlEncode("f") == "Zg");
  BOOST_TEST(Base64UrlEncode("fo") == "Zm8");
  BOOST_TEST(Base64UrlEncode("foo") == "Zm9v");
  BOOST_TEST(Base64UrlEncode("foob") == "Zm9vYg");
  BOOST_TEST(Base64UrlEncode("\xfb\xff") == "-_8");
}

BOOST_AUTO_TEST_CASE(token_endpoint_must_be_https_except_on_loopback) {
  BOOST_TEST(CheckTokenEndpointUrl("https://fhir.example.org/oauth2/token").ok());
  BOOST_TEST(CheckTokenEndpointUrl("http://127.0.0.1:8080/auth/token").ok());
  BOOST_TEST(CheckTokenEndpointUrl("http://localhost/token").ok());
  BOOST_TEST(CheckTokenEndpointUrl("http://[::1]:9/token").ok());
  BOOST_TEST(!CheckTokenEndpointUrl("http://fhir.example.org/oauth2/token").ok());
  BOOST_TEST(!CheckTokenEndpointUrl("http://127.0.0.1.example.org/token").ok());
  BOOST_TEST(!CheckTokenEndpointUrl("http://localhost@example.org/token").ok());
  BOOST_TEST(!CheckTokenEndpointUrl("ftp://127.0.0.1/token").ok());
}

BOOST_AUTO_TEST_CASE(keys_that_cannot_sign_rs384_or_es384_are_refused) {
  BOOST_TEST(SigningKey::FromPem(Key("rs384.pem")).ok());
  BOOST_TEST(std::string(SigningKey::FromPem(Key("rs384.pem")).value()->algorithm()) == "RS384");
  BOOST_TEST(std::string(SigningKey::FromPem(Key("es384.pem")).value()->algorithm()) == "ES384");
  BOOST_TEST(SigningKey::FromPem("not a key").status().IsInvalid());
  BOOST_TEST(SigningKey::FromPem(Key("rs384.pub.pem")).status().IsInvalid());  // public only
  std::string dir = KeyDir();
  std::string cmd = "cd '" + dir + "' && openssl genpkey -algorithm RSA -pkeyopt "
                    "rsa_keygen_bits:1024 -out rsa1024.pem >/dev/null 2>&1 && openssl genpkey "
                    "-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem >/dev/null 2>&1 "
                    "&& openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-128-cbc "
                    "-pass pass:secret -out encrypted.pem >/dev/null 2>&1";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  auto small = SigningKey::FromPem(Key("rsa1024.pem"));
  BOOST_TEST(small.status().message().find("1024 bits") != std::string::npos);
  auto p256 = SigningKey::FromPem(Key("p256.pem"));
  BOOST_TEST(p256.status().message().find("P-384") != std::string::npos);
  auto encrypted = SigningKey::FromPem(Key("encrypted.pem"));
  BOOST_TEST(encrypted.status().message().find("encrypted") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(client_assertion_carries_what_smart_requires) {
  auto key = SigningKey::FromPem(Key("es384.pem"));
  BOOST_REQUIRE(key.ok());
  const int64_t now = 1'800'000'000;
  auto jwt = MakeClientAssertion(**key, kClientId, kKeyId, "https://as.example/token", now);
  BOOST_REQUIRE(jwt.ok());
  size_t a = jwt->find('.');
  size_t b = jwt->find('.', a + 1);
  BOOST_REQUIRE(a != std::string::npos && b != std::string::npos);
  BOOST_TEST(jwt->find('=') == std::string::npos);
  auto header = json::Parse(DecodeBase64Url(jwt->substr(0, a)));
  auto claims = json::Parse(DecodeBase64Url(jwt->substr(a + 1, b - a - 1)));
  BOOST_REQUIRE(header.ok() && claims.ok());
  BOOST_TEST(json::GetString(*header, "alg").value() == "ES384");
  BOOST_TEST(json::GetString(*header, "kid").value() == kKeyId);
  BOOST_TEST(json::GetString(*header, "typ").value() == "JWT");
  BOOST_TEST(json::GetString(*claims, "iss").value() == kClientId);
  BOOST_TEST(json::GetString(*claims, "sub").value() == kClientId);
  BOOST_TEST(json::GetString(*claims, "aud").value() == "https://as.example/token");
  BOOST_TEST(json::GetInt(*claims, "exp").value() == now + 300);
  BOOST_TEST(json::GetString(*claims, "jti").value().size() == 32u);
  BOOST_TEST(DecodeBase64Url(jwt->substr(b + 1)).size() == 96u);  // r || s, 48 bytes each
  auto again = MakeClientAssertion(**key, kClientId, kKeyId, "https://as.example/token", now);
  BOOST_TEST(*again != *jwt);  // a fresh jti (and ECDSA nonce) every time
}

BOOST_AUTO_TEST_CASE(rs384_token_is_fetched_once_and_reused) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("rs384.pub.pem")).ok());
  auto client = SmartClient(server, "rs384.pem");
  auto made = client->Create(Patient());
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  for (int i = 0; i < 4; ++i) BOOST_REQUIRE(client->Read("Patient", made->id).ok());
  auto seen = Seen(server);
  BOOST_TEST(Count(seen, IsTokenRequest) == 1);
  BOOST_TEST(Count(seen, [](const SeenRequest& r) { return IsTokenRequest(r) && r.status == 200; }) == 1);
  // The create and the four reads, each with the issued token.
  BOOST_TEST(Count(seen, [](const SeenRequest& r) {
               return !IsTokenRequest(r) && r.had_authorization && r.status < 300;
             }) == 5);
}

BOOST_AUTO_TEST_CASE(es384_with_the_token_endpoint_discovered) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("es384.pub.pem")).ok());
  auto client = SmartClient(server, "es384.pem", /*discover=*/true);
  auto made = client->Create(Patient());
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  auto seen = Seen(server);
  BOOST_REQUIRE(seen.size() == 3u);
  BOOST_TEST(seen[0].path == "/fhir/R4/.well-known/smart-configuration");
  BOOST_TEST(!seen[0].had_authorization);
  BOOST_TEST((IsTokenRequest(seen[1]) && seen[1].status == 200));
  BOOST_TEST((seen[2].method == "POST" && seen[2].status == 201));
}

// What check-config --connect calls: a token now, nothing sent to the FHIR endpoints; the token
// is then used by the first request (no second token request).
BOOST_AUTO_TEST_CASE(authenticate_gets_a_token_without_touching_fhir) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("es384.pub.pem")).ok());
  auto client = SmartClient(server, "es384.pem");
  auto how = client->Authenticate();
  BOOST_REQUIRE_MESSAGE(how.ok(), how.status().ToString());
  BOOST_TEST((*how == AuthMethod::kSmartBackend));
  auto seen = Seen(server);
  BOOST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(IsTokenRequest(seen[0]));
  BOOST_REQUIRE(client->Search("Patient", "").ok());
  BOOST_TEST(Count(Seen(server), IsTokenRequest) == 1);
  auto wrong = SmartClient(server, "rs384-other.pem");
  BOOST_TEST(wrong->Authenticate().status().IsUnauthorized());
  ClientOptions plain;
  plain.base_url = server.base_url();
  BOOST_TEST((FhirClient::Create(plain).value()->Authenticate().value() == AuthMethod::kNone));
}

// A revoked token: the FHIR server answers 401, the client gets a new token and sends the plain
// (non-conditional) POST once more; the 401 applied nothing, so there is one Patient.
BOOST_AUTO_TEST_CASE(a_401_renews_the_token_and_resends_without_duplicating) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("rs384.pub.pem")).ok());
  auto client = SmartClient(server, "rs384.pem");
  BOOST_REQUIRE(client->Search("Patient", "").ok());
  BOOST_REQUIRE(server.RevokeTokens().ok());
  auto made = client->Create(Patient());
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->attempts == 1);
  BOOST_TEST(PatientsOnServer(server) == 1u);
  auto seen = Seen(server);
  BOOST_TEST(Count(seen, IsTokenRequest) == 2);
  auto posts = Count(seen, [](const SeenRequest& r) { return r.method == "POST" && !IsTokenRequest(r); });
  BOOST_TEST(posts == 2);
  BOOST_TEST(Count(seen, [](const SeenRequest& r) { return r.status == 401; }) == 1);
}

// A fresh token refused too: the second 401 is the answer (no loop of renewals).
BOOST_AUTO_TEST_CASE(a_second_401_is_the_answer) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("rs384.pub.pem")).ok());
  testing::Fault refused;
  refused.path_regex = "/Patient";
  refused.status = 401;
  refused.count = 5;
  BOOST_REQUIRE(server.AddFault(refused).ok());
  auto client = SmartClient(server, "rs384.pem");
  auto made = client->Create(Patient());
  BOOST_TEST(made.status().IsUnauthorized());
  auto seen = Seen(server);
  BOOST_TEST(Count(seen, IsTokenRequest) == 2);
  BOOST_TEST(Count(seen, [](const SeenRequest& r) { return r.status == 401; }) == 2);
}

BOOST_AUTO_TEST_CASE(a_token_is_renewed_before_it_expires) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("es384.pub.pem", /*lifetime_s=*/1)).ok());
  auto client = SmartClient(server, "es384.pem");
  BOOST_REQUIRE(client->Search("Patient", "").ok());
  BOOST_REQUIRE(client->Search("Patient", "").ok());  // within the first 750 ms: same token
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  BOOST_REQUIRE(client->Search("Patient", "").ok());
  auto seen = Seen(server);
  BOOST_TEST(Count(seen, IsTokenRequest) == 2);
  BOOST_TEST(Count(seen, [](const SeenRequest& r) { return r.status == 401; }) == 0);
}

BOOST_AUTO_TEST_CASE(a_key_the_server_does_not_know_is_refused_and_nothing_is_sent) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("rs384.pub.pem")).ok());
  auto client = SmartClient(server, "rs384-other.pem");
  auto made = client->Create(Patient());
  BOOST_REQUIRE(!made.ok());
  BOOST_TEST((made.status().kind() == ErrorKind::kUnauthorized));
  const std::string& m = made.status().message();
  BOOST_TEST(m.find("invalid_client") != std::string::npos, m);
  BOOST_TEST(m.find("signature does not verify") != std::string::npos, m);
  BOOST_TEST(m.find("eyJ") == std::string::npos, m);  // no JWT (base64url of '{"') in the message
  BOOST_TEST(m.find("PRIVATE KEY") == std::string::npos, m);
  auto seen = Seen(server);
  BOOST_TEST(seen.size() == 1u);  // the token request only: the FHIR endpoint saw nothing
  BOOST_TEST(PatientsOnServer(server) == 0u);
}

// The token endpoint answers 503 once: nothing has gone to the FHIR server yet, so even a plain
// POST is tried again (after backoff), and it lands once.
BOOST_AUTO_TEST_CASE(an_unavailable_token_endpoint_is_retried_before_anything_is_sent) {
  auto& server = SharedTestFhirServer();
  BOOST_REQUIRE(server.Configure(SmartServer("rs384.pub.pem")).ok());
  testing::Fault down;
  down.method = "POST";
  down.path_regex = "^/auth/token";
  down.status = 503;
  BOOST_REQUIRE(server.AddFault(down).ok());
  auto client = SmartClient(server, "rs384.pem");
  auto made = client->Create(Patient());
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->attempts == 2);
  auto seen = Seen(server);
  BOOST_REQUIRE(seen.size() == 3u);
  BOOST_TEST((IsTokenRequest(seen[0]) && seen[0].status == 503));
  BOOST_TEST((IsTokenRequest(seen[1]) && seen[1].status == 200));
  BOOST_TEST(seen[2].status == 201);
  BOOST_TEST(PatientsOnServer(server) == 1u);
}

BOOST_AUTO_TEST_CASE(a_client_with_a_bad_key_or_plain_http_token_endpoint_is_not_made) {
  ClientOptions options;
  options.base_url = "https://fhir.example.org/R4";
  options.auth.smart_backend.client_id = kClientId;
  options.auth.smart_backend.key_id = kKeyId;
  options.auth.smart_backend.private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  BOOST_TEST(FhirClient::Create(options).status().IsInvalid());
  options.auth.smart_backend.private_key_pem = Key("rs384.pem");
  options.auth.smart_backend.token_url = "http://as.example.org/token";
  auto plain = FhirClient::Create(options);
  BOOST_TEST(plain.status().message().find("https:// is required") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
