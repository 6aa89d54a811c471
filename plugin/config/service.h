// A running Countersign instance built from a Config: the store, principals, approval policy,
// guardrails, mapping engine, FHIR client, coordinator, commit engine and (when configured) the
// FHIR Task mirror, wired together once so the REST daemon, the CLI and the C ABI expose the
// same operations under the same rules.
//
// Threading: every accessor's object is thread-safe (see their headers). The Service owns them
// all; they live as long as it does.
#pragma once

#include <memory>
#include <string_view>

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
  // A principal by id (admin work from the CLI, which opens the store directly).
  Result<core::Principal> PrincipalById(std::string_view id) const;
  // The FHIR server's current version of "Type/id" (review diff, rebase).
  Result<json::Document> ReadCurrent(const std::string& type_and_id);

 private:
  explicit Service(Config config);
  // The store config_.store_backend names.
  Status OpenStore();
  Config config_;
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
