#include "plugin/config/service.h"

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "fhir/reference.h"
#include "plugin/core/pg_store.h"
#include "plugin/core/sqlite_store.h"

namespace countersign::config {

namespace {

namespace fs = std::filesystem;

std::string Errno() { return std::strerror(errno); }

// The SQLite store file, checked without opening it (opening creates it, or its -wal/-shm).
Status CheckSqliteFile(const std::string& path, std::vector<std::string>* notes) {
  const std::string at = "store.path " + path + ": ";
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IoError(at + Errno());
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    if (!fs::is_directory(dir)) return Status::IoError(at + "the directory does not exist");
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
      return Status::IoError(at + "cannot create it in " + dir.string() + ": " + Errno());
    }
    notes->push_back("store " + path + " does not exist yet; serve creates it");
    return Status::Ok();
  }
  if (!S_ISREG(st.st_mode)) return Status::IoError(at + "not a regular file");
  if (access(path.c_str(), R_OK | W_OK) != 0) return Status::IoError(at + Errno());
  char header[16] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(header, sizeof header);
  if (st.st_size > 0 && (!in || std::memcmp(header, "SQLite format 3", 16) != 0)) {
    return Status::Invalid(at + "not an SQLite database");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    notes->push_back("warning: store " + path + " is open to other users (mode " +
                     std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                     std::to_string(st.st_mode & 7) + "); it holds PHI: chmod 600");
  }
  return Status::Ok();
}

}  // namespace

Service::Service(Config config) : config_(std::move(config)), tokens_(config_.tokens) {}
Service::~Service() = default;

Status Service::LoadParts() {
  const Config& config = config_;
  auto principals = core::PrincipalDirectory::Parse(config.principals_json);
  if (!principals.ok()) return Status::Invalid("principals: " + principals.status().message());
  principals_ = std::move(principals).value();
  auto policy = core::ApprovalPolicy::Parse(config.approval_policy_json);
  if (!policy.ok()) return Status::Invalid("approval_policy: " + policy.status().message());
  policy_ = std::move(policy).value();
  auto guardrails = core::Guardrails::Parse(config.guardrails_json);
  if (!guardrails.ok()) return Status::Invalid("guardrails: " + guardrails.status().message());
  guardrails_ = std::move(guardrails).value();
  auto mapper = mappings::MappingEngine::Load(config.rules_dir, config.profiles);
  if (!mapper.ok()) {
    return Status::Error(mapper.status().kind(), "mappings: " + mapper.status().message(), 0,
                         mapper.status().operation_outcome());
  }
  mapper_ = std::move(mapper).value();
  auto client = fhir::FhirClient::Create(config.fhir);
  if (!client.ok()) return Status::Invalid("fhir: " + client.status().message());
  client_ = std::move(client).value();
  return Status::Ok();
}

Status Service::Check(const Config& config, std::vector<std::string>* notes) {
  std::unique_ptr<Service> s(new Service(config));
  CS_RETURN_IF_ERROR(s->LoadParts());
  if (config.store_backend == "sqlite") return CheckSqliteFile(config.store_path, notes);
  notes->push_back("store: postgres (not contacted by check-config)");
  return Status::Ok();
}

Result<std::unique_ptr<Service>> Service::Open(const Config& config) {
  std::unique_ptr<Service> s(new Service(config));
  CS_RETURN_IF_ERROR(s->LoadParts());
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
  std::string principal;
  {
    std::shared_lock<std::shared_mutex> lock(tokens_mu_);
    for (const TokenEntry& t : tokens_) {  // every entry compared: no early exit
      if (t.sha256.size() == hash.size() &&
          CRYPTO_memcmp(t.sha256.data(), hash.data(), hash.size()) == 0) {
        principal = t.principal;
      }
    }
  }
  if (principal.empty()) return Status::Unauthorized("unknown token");
  const core::Principal* p = principals_.Find(principal);
  if (p == nullptr) return Status::Unauthorized("token names an unknown principal");
  return *p;
}

Status Service::ReloadTokens(std::string* summary) {
  if (config_.path.empty()) return Status::Unsupported("tokens: no config file to re-read");
  auto fresh = Config::Load(config_.path);
  if (!fresh.ok()) return fresh.status();
  for (size_t i = 0; i < fresh->tokens.size(); ++i) {
    const std::string& who = fresh->tokens[i].principal;
    if (principals_.Find(who) == nullptr) {
      return Status::Invalid("tokens[" + std::to_string(i) + "].principal: \"" + who +
                             "\" is not a principal of the running instance (adding principals "
                             "needs a restart)");
    }
  }
  size_t kept = 0, before = 0;
  {
    std::unique_lock<std::shared_mutex> lock(tokens_mu_);
    before = tokens_.size();
    for (const TokenEntry& t : fresh->tokens) {
      for (const TokenEntry& old : tokens_) {
        if (old.sha256 == t.sha256 && old.principal == t.principal) ++kept;
      }
    }
    tokens_ = fresh->tokens;
  }
  if (summary) {
    *summary = std::to_string(fresh->tokens.size()) + " tokens (" +
               std::to_string(fresh->tokens.size() - kept) + " new, " +
               std::to_string(before - kept) + " revoked)";
  }
  return Status::Ok();
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
