#include "plugin/config/service.h"

#include <openssl/crypto.h>

#include "fhir/reference.h"
#include "plugin/core/pg_store.h"
#include "plugin/core/sqlite_store.h"

namespace countersign::config {

Service::Service(Config config) : config_(std::move(config)) {}
Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::Open(const Config& config) {
  std::unique_ptr<Service> s(new Service(config));
  auto principals = core::PrincipalDirectory::Parse(config.principals_json);
  if (!principals.ok()) return Status::Invalid("principals: " + principals.status().message());
  s->principals_ = std::move(principals).value();
  auto policy = core::ApprovalPolicy::Parse(config.approval_policy_json);
  if (!policy.ok()) return Status::Invalid("approval_policy: " + policy.status().message());
  s->policy_ = std::move(policy).value();
  auto guardrails = core::Guardrails::Parse(config.guardrails_json);
  if (!guardrails.ok()) return Status::Invalid("guardrails: " + guardrails.status().message());
  s->guardrails_ = std::move(guardrails).value();
  auto mapper = mappings::MappingEngine::Load(config.rules_dir, config.profiles);
  if (!mapper.ok()) {
    return Status::Error(mapper.status().kind(), "mappings: " + mapper.status().message(), 0,
                         mapper.status().operation_outcome());
  }
  s->mapper_ = std::move(mapper).value();
  auto client = fhir::FhirClient::Create(config.fhir);
  if (!client.ok()) return Status::Invalid("fhir: " + client.status().message());
  s->client_ = std::move(client).value();
  CS_RETURN_IF_ERROR(s->OpenStore());

  Service* self = s.get();
  core::CoordinatorDeps deps;
  deps.store = s->store_.get();
  deps.mapper = s->mapper_.get();
  deps.principals = &s->principals_;
  deps.policy = &s->policy_;
  deps.guardrails = &s->guardrails_;
  deps.resolve_base = [self](const fhir::Reference& ref) -> Result<json::Document> {
    auto r = ref.version_id.empty() ? self->client_->Read(ref.type, ref.id)
                                    : self->client_->VRead(ref.type, ref.id, ref.version_id);
    if (!r.ok()) return r.status();
    return std::move(r->body);
  };
  s->coordinator_ = std::make_unique<core::Coordinator>(deps);

  commit::CommitEngineDeps cdeps;
  cdeps.store = s->store_.get();
  cdeps.client = s->client_.get();
  cdeps.guardrails = &s->guardrails_;
  commit::CommitEngineOptions copts;
  copts.batch = config.worker_batch;
  copts.lease_ms = config.worker_lease_ms;
  copts.max_attempts = config.worker_max_attempts;
  copts.retry_delay_ms = config.worker_retry_delay_ms;
  s->commit_engine_ = std::make_unique<commit::CommitEngine>(cdeps, copts);

  if (config.task_mirror_enabled) {
    commit::TaskMirrorDeps mdeps;
    mdeps.store = s->store_.get();
    mdeps.client = s->client_.get();
    commit::TaskMirrorOptions mopts;
    mopts.batch = config.task_mirror_batch;
    s->task_mirror_ = std::make_unique<commit::TaskMirror>(mdeps, mopts);
  }
  return s;
}

Status Service::OpenStore() {
  if (config_.store_backend == "postgres") {
    core::PgStoreOptions options;
    options.conninfo = config_.store_pg_conninfo;
    options.password = config_.store_pg_password;
    options.max_connections = config_.store_pg_max_connections;
    auto store = core::PgStore::Open(options);
    // Neither the conninfo nor the password is repeated: libpq's message names the host.
    if (!store.ok()) {
      return Status::Error(store.status().kind(), "store (postgres): " + store.status().message());
    }
    store_ = std::move(store).value();
    return Status::Ok();
  }
  core::SqliteStoreOptions options;
  options.group_commit = config_.group_commit;
  auto store = core::SqliteStore::Open(config_.store_path, options);
  if (!store.ok()) {
    return Status::Error(store.status().kind(),
                         "store " + config_.store_path + ": " + store.status().message());
  }
  store_ = std::move(store).value();
  return Status::Ok();
}

Result<core::Principal> Service::Authenticate(std::string_view token) const {
  if (token.empty()) return Status::Unauthorized("a bearer token is required");
  std::string hash = TokenHash(token);
  const TokenEntry* match = nullptr;
  for (const TokenEntry& t : config_.tokens) {  // every entry compared: no early exit
    if (t.sha256.size() == hash.size() &&
        CRYPTO_memcmp(t.sha256.data(), hash.data(), hash.size()) == 0) {
      match = &t;
    }
  }
  if (match == nullptr) return Status::Unauthorized("unknown token");
  const core::Principal* p = principals_.Find(match->principal);
  if (p == nullptr) return Status::Unauthorized("token names an unknown principal");
  return *p;
}

Result<core::Principal> Service::PrincipalById(std::string_view id) const {
  const core::Principal* p = principals_.Find(id);
  if (p == nullptr) {
    return Status::NotFound("no principal " + std::string(id) + " in the configuration");
  }
  return *p;
}

Result<json::Document> Service::ReadCurrent(const std::string& type_and_id) {
  auto ref = fhir::Reference::Parse(type_and_id);
  if (!ref.ok()) return ref.status();
  auto r = client_->Read(ref->type, ref->id);
  if (!r.ok()) return r.status();
  return std::move(r->body);
}

}  // namespace countersign::config
