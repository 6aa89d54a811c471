// A running Countersign instance built from a Config: the store, principals, approval policy,
// guardrails, mapping engine, FHIR client, coordinator, commit engine and (when configured) the
// FHIR Task mirror, wired together once so the REST daemon, the CLI and the C ABI expose the
// same operations under the same rules.
//
// Threading: every accessor's object is thread-safe (see their headers). The Service owns them
// all; they live as long as it does.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "fhir/client.h"
#include "mappings/engine.h"
#include "plugin/commit/commit_engine.h"
#include "plugin/commit/task_mirror.h"
#include "plugin/config/config.h"
#include "plugin/core/approval_policy.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/guardrails.h"
#include "plugin/core/principals.h"
#include "plugin/core/store.h"

namespace countersign::config {

class Service {
 public:
  // Opens the store (creating it), loads every part. Errors name what failed.
  static Result<std::unique_ptr<Service>> Open(const Config& config);
  // What Open checks, without side effects (check-config): every part is loaded as Open loads
  // it, but the SQLite store is not opened: an existing file must be a readable and writable
  // SQLite database, a missing one a file its directory lets us create. A PostgreSQL store is
  // not contacted. Lines worth telling the operator (a store file others can read) are added
  // to *notes.
  static Status Check(const Config& config, std::vector<std::string>* notes);
  ~Service();

  const Config& config() const { return config_; }
  core::Store& store() { return *store_; }  // SqliteStore or PgStore, per store.backend
  const core::PrincipalDirectory& principals() const { return principals_; }
  const core::ApprovalPolicy& policy() const { return policy_; }
  const core::Guardrails& guardrails() const { return guardrails_; }
  const mappings::MappingEngine& mapper() const { return *mapper_; }
  fhir::FhirClient& client() { return *client_; }
  core::Coordinator& coordinator() { return *coordinator_; }
  commit::CommitEngine& commit_engine() { return *commit_engine_; }
  // The Task mirror; nullptr unless task_mirror.enabled.
  commit::TaskMirror* task_mirror() { return task_mirror_.get(); }

  // The principal a bearer token authenticates (compared as SHA-256 hashes, in constant time
  // over the configured tokens); kUnauthorized otherwise. Never logs the token.
  Result<core::Principal> Authenticate(std::string_view token) const;
  // Re-reads the config file and replaces the API tokens (revoked ones stop working, new ones
  // start), for SIGHUP. The whole file must load, and every token must name a principal this
  // Service already has (adding principals needs a restart); otherwise the old tokens stay and
  // the error is returned. Other settings in the file are not applied. Thread-safe with
  // Authenticate. *summary: counts only, never token values or hashes.
  Status ReloadTokens(std::string* summary);
  // A principal by id (admin work from the CLI, which opens the store directly).
  Result<core::Principal> PrincipalById(std::string_view id) const;
  // The FHIR server's current version of "Type/id" (review diff, rebase).
  Result<json::Document> ReadCurrent(const std::string& type_and_id);

 private:
  explicit Service(Config config);
  // The store config_.store_backend names.
  Status OpenStore();
  // The parts that need no store: principals, policy, guardrails, mappings, FHIR client.
  Status LoadParts();
  Config config_;
  mutable std::shared_mutex tokens_mu_;
  std::vector<TokenEntry> tokens_;  // guarded by tokens_mu_
  std::unique_ptr<core::Store> store_;
  core::PrincipalDirectory principals_;
  core::ApprovalPolicy policy_;
  core::Guardrails guardrails_;
  std::unique_ptr<mappings::MappingEngine> mapper_;
  std::unique_ptr<fhir::FhirClient> client_;
  std::unique_ptr<core::Coordinator> coordinator_;
  std::unique_ptr<commit::CommitEngine> commit_engine_;
  std::unique_ptr<commit::TaskMirror> task_mirror_;
};

}  // namespace countersign::config
