// The loopback FHIR test server for integration tests: a node process running
// tests/fhir-server/server.js (Medplum's FHIR router 4.5.2 over an in-memory repository, with the
// spec-conformance fixes and emulation switches listed in tests/fhir-server/README.md).
//
// Start() launches it on a free 127.0.0.1 port and waits for its "LISTENING <port>" line; the
// destructor stops it (SIGTERM, then SIGKILL), so it also stops when a test fails. Admin calls go
// to /$admin/... on the same port and are not FHIR traffic.
//
// Threading: one test thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fhir/status.h"

namespace countersign::testing {

// Per-test server behaviour, sent as PUT /$admin/config. Defaults = a spec-conformant server with
// transactions and batch, 412 for a stale If-Match, no auth.
struct ServerConfig {
  bool transactions = true;            // CapabilityStatement declares transaction; else refused
  bool batch = true;
  int version_conflict_status = 412;   // 409 (HAPI, Oracle) or 412 (the spec)
  bool require_if_match = false;       // update/patch without If-Match -> 428
  std::vector<std::string> read_only_types;  // writes refused (e.g. "Provenance", "Appointment")
  int read_only_status = 405;          // status for refused writes (405 or 403)
  std::string bearer_token;            // when set, every FHIR request needs it (else 401)
  std::string basic_user, basic_password;
  bool conditional_create = true;      // declared and honoured (If-None-Exist)
  int delay_ms = 0;                    // every FHIR answer delayed (timeouts)
  // Honours the resolve-as-version-specific extension in transactions; false: like servers
  // that keep such references as sent (unversioned).
  bool resolve_version_specific = true;
  bool return_minimal = false;  // writes answered without the resource, whatever Prefer says
  std::string capability_statement_json;  // served verbatim at /metadata when set (Epic profile)
  // SMART Backend Services: the server's token endpoint (token_url()) issues bearer tokens to
  // this one client, whose assertions it checks against public_key_pem; every FHIR request then
  // needs an unexpired issued token (bearer_token, when also set, stays accepted: for Raw()).
  struct SmartClient {
    std::string client_id;
    std::string key_id;
    std::string public_key_pem;
    int token_lifetime_s = 300;
  };
  std::optional<SmartClient> smart_backend;
  // HTTPS servers only: FHIR requests need a client certificate signed by the test CA
  // (MakeTestCertificates' client.pem).
  bool require_client_cert = false;
};

// Epic's R4 sandbox as the server declares itself: its CapabilityStatement
// (fixtures/servers/epic-r4-capabilitystatement.json: no transactions, read-only Provenance,
// no update-create) served verbatim, the rest as ServerConfig's defaults.
ServerConfig EpicSandboxConfig();

// One injected fault (POST /$admin/faults). Matches requests by method and a regex on the path.
struct Fault {
  std::string method;        // "POST", "PUT", ... or "" for any
  std::string path_regex;    // e.g. "^/fhir/R4/?$" (transaction) or "/Communication"
  int status = 503;          // the answer sent instead (0 = close the connection, no answer)
  int retry_after_s = -1;    // Retry-After header when >= 0
  bool after_apply = false;  // true: the write is applied, then the answer replaced (lost answer)
  int count = 1;             // how many matching requests get it
  int every = 1;             // only every N-th matching request gets it (2: the 2nd, 4th, ...)
  int delay_ms = 0;          // delay before answering (timeouts)
};

// One request the server saw (GET /$admin/requests), oldest first.
struct SeenRequest {
  std::string method;
  std::string path;     // path + query as received
  int status = 0;       // what was answered
  std::string if_match;
  std::string if_none_exist;
  std::string prefer;  // the Prefer header, if any
  bool had_authorization = false;
};

class TestFhirServer {
 public:
  // Starts a server (npm modules must be installed: scripts/install-deps.sh). kUnavailable when
  // it cannot start within ~20 s; the message includes its stderr. tls: serve HTTPS with a
  // certificate from MakeTestCertificates (cert_dir) instead of HTTP.
  static countersign::Result<std::unique_ptr<TestFhirServer>> Start(const std::string& cert_dir = {});
  ~TestFhirServer();

  int port() const;
  // "http://127.0.0.1:<port>/fhir/R4" (https:// with TLS)
  std::string base_url() const;
  std::string admin_url() const;  // "http://127.0.0.1:<port>/$admin" (https:// with TLS)

  // Empties the repository and drops config, faults and the request log.
  countersign::Status Reset();
  countersign::Status Configure(const ServerConfig& config);
  countersign::Status AddFault(const Fault& fault);
  countersign::Status ClearFaults();
  // Forgets every issued SMART token: the next request with one gets 401.
  countersign::Status RevokeTokens();
  std::string token_url() const;  // "http://127.0.0.1:<port>/auth/token"
  countersign::Result<std::vector<SeenRequest>> Requests();
  // Kills and starts the process again on the same port; the in-memory data is kept in a
  // snapshot file, so resources survive (a server restart in the middle of a commit). The last
  // Configure() is applied again; faults and the request log start empty.
  countersign::Status Restart();

  // Raw FHIR call with no client logic: for tests that check server state independently of the
  // code under test. Returns {status, body}. When the last Configure() set a bearer token (or
  // Basic credentials) and headers carry no "Authorization:" line, Raw sends them; pass
  // "Authorization:" (empty) to send none, or your own line to send that instead.
  struct RawResponse { int status = 0; std::string body; std::string etag; std::string location; };
  countersign::Result<RawResponse> Raw(const std::string& method, const std::string& path_and_query,
                                       const std::string& body = {},
                                       const std::vector<std::string>& headers = {});

 private:
  TestFhirServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One server for the whole test binary, started on first use and Reset() for each call.
TestFhirServer& SharedTestFhirServer();

// Writes a throwaway CA (ca.pem) and a server certificate for 127.0.0.1 signed by it
// (server.pem, server-key.pem) and a client certificate (client.pem, client-key.pem) into dir,
// using OpenSSL. For the TLS tests.
countersign::Status MakeTestCertificates(const std::string& dir);

// Writes throwaway SMART signing keys into dir with OpenSSL: rs384.pem / rs384.pub.pem (RSA 2048)
// with a second RSA key rs384-other.pem the server does not know, and es384.pem / es384.pub.pem
// (EC P-384); private keys as PKCS#8 PEM.
countersign::Status MakeTestSigningKeys(const std::string& dir);

}  // namespace countersign::testing
