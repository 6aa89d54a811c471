// How the CLI reaches Countersign: through a running daemon (RemoteBackend, HTTP with a bearer
// token) or by opening the store directly (LocalBackend: the same Api the daemon serves, called
// in-process). Either way a command is one REST request with the same rules and the same JSON,
// so the CLI cannot drift from the daemon.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fhir/status.h"

namespace countersign::config {
class Service;
}

namespace countersign::cli {

struct Call {
  Call(std::string m, std::string p, std::string b = {})
      : method(std::move(m)), path(std::move(p)), body(std::move(b)) {}
  std::string method;
  std::string path;  // "/proposals/abc/approve"
  std::map<std::string, std::string> query;
  std::string body;  // JSON
  std::string content_type = "application/json";
  std::string token;
  std::string idempotency_key;
  // No token: act as the local operator (LocalBackend only; see MakeLocalBackend).
  bool as_operator = false;
};

struct Reply {
  int status = 0;
  std::string body;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // kNetwork/kTimeout when the daemon cannot be reached; any HTTP answer is a Reply.
  virtual Result<Reply> Send(const Call& call) = 0;
  // The local service, for commands that only exist locally (commit, map); null when remote.
  virtual config::Service* service() { return nullptr; }
};

// base_url: "http://127.0.0.1:8400".
std::unique_ptr<Backend> MakeRemoteBackend(const std::string& base_url);
// Opens the configured instance (store, mappings, FHIR client) in this process.
//
// The local operator: whoever can open the store can read all of it anyway (the SQLite file is
// 0600, owned by the operator; a PostgreSQL store needs its credentials), so a Call with
// as_operator and no token acts as the principal "operator:<OS user name>" with the admin role,
// without an API token. The CLI uses it only for the audit trail and the ledger; proposal commands
// name a configured person or AI by --token.
Result<std::unique_ptr<Backend>> MakeLocalBackend(const std::string& config_path);
// The operator principal's id for this process: "operator:" + the effective user's name.
std::string LocalOperatorId();

}  // namespace countersign::cli
