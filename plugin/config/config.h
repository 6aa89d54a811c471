// The one configuration file of a Countersign deployment (JSON; every key and default is
// documented in plugin/config/README.md). Relative paths inside it resolve against the config
// file's own directory. Unknown keys are errors, named by their JSON path, like every other
// problem ("fhir.tls.verify: expected a boolean") — `countersign check-config` prints them.
//
// Secrets: the FHIR server's bearer token / basic password should come from environment
// variables (bearer_token_env, basic_password_env), the PostgreSQL password must (a conninfo
// holding one is refused); API tokens are stored as SHA-256 hashes; a SMART Backend Services
// private key is read from its own file (fhir.auth.smart_backend.private_key_file) and checked
// at load. None is ever logged.
//
// Threading: an immutable value after Load.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fhir/client.h"
#include "fhir/status.h"

namespace countersign::config {

struct TokenEntry {
  std::string principal;  // a principal id from `principals`
  std::string sha256;     // lowercase hex SHA-256 of the bearer token
};

struct Config {
  std::string path;      // the file it was loaded from ("" when parsed from text)
  std::string base_dir;  // relative paths resolve against this

  fhir::ClientOptions fhir;  // base_url, auth, tls, timeouts, retry

  std::string store_backend = "sqlite";  // "sqlite" | "postgres"
  std::string store_path = "countersign.db";  // sqlite
  bool group_commit = true;                   // sqlite
  std::string store_pg_conninfo;  // postgres: libpq conninfo, without a password
  std::string store_pg_password;  // postgres: from store.postgres.password_env; never logged
  int store_pg_max_connections = 8;

  // Each of these is the JSON text of the section (inline in the config, or read from the
  // file the config names), in the format its parser takes.
  std::string principals_json;
  std::string approval_policy_json;
  std::string guardrails_json;
  std::vector<TokenEntry> tokens;

  std::string rules_dir;                      // mapping rule files
  std::map<std::string, std::string> profiles;  // kind -> profile

  bool worker_enabled = true;
  int64_t worker_poll_ms = 500;
  int worker_batch = 16;
  int64_t worker_lease_ms = 60000;
  int worker_max_attempts = 5;
  int64_t worker_retry_delay_ms = 2000;

  // The FHIR Task mirror of the review queue (plugin/commit/task_mirror.h); off by default.
  bool task_mirror_enabled = false;
  int task_mirror_batch = 100;  // audit records per mirror pass

  std::string listen_host = "127.0.0.1";
  int listen_port = 8400;
  // Request threads. A submission's thread waits for its group commit's fsync, so the threads
  // bound how many submissions share one: 8 serves 8 concurrent clients ~20% faster than 4 on
  // 2 cores (bench/submit_bench --threads), more than 8 does not help.
  int listen_threads = 8;
  size_t max_body_bytes = 1 << 20;
  int max_json_depth = 32;
  // Request-head limits and connection timeouts (plugin/daemon/http_listener.h).
  size_t max_header_bytes = 16 << 10;
  size_t max_url_bytes = 8 << 10;
  int max_headers = 100;
  int header_timeout_s = 10;
  int idle_timeout_s = 30;
  int request_timeout_s = 30;
  int max_connections = 512;
  // server.tls: the daemon serves HTTPS itself (absolute paths after Load). Without it, a
  // listen host other than loopback is refused unless behind_tls_proxy says TLS ends in front.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool behind_tls_proxy = false;

  // Settings that load but weaken the deployment (fhir.tls.verify false, ...): one line each,
  // printed by check-config and logged by serve.
  std::vector<std::string> warnings;

  // Loads and validates the file (and the files it names). kInvalid naming the JSON path of
  // the first problem; kIoError when a file cannot be read.
  static Result<Config> Load(const std::string& path);
  // Same, from text; relative paths resolve against base_dir.
  static Result<Config> Parse(std::string_view text, const std::string& base_dir);
};

// Lowercase hex SHA-256 of a token, as stored in `tokens[].sha256`.
std::string TokenHash(std::string_view token);

}  // namespace countersign::config
