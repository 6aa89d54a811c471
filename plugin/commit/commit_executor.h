// Executes one approved proposal's write plan against the FHIR server: one transaction that
// carries the Provenance too, or the ordered per-resource writes and then the Provenance; its
// targets always end up naming the committed versions (provenance_targets.h). Knows nothing of
// the store: the CommitEngine records what it returns.
//
// Exactly once: with `reconcile` set (a later attempt after a crash, a lost answer or a deferred
// retry), every write is first looked up on the server — creates by their Countersign
// identifier (their If-None-Exist query, escaped and encoded), updates by reading the current
// version and, when it moved or carries this proposal's own marker, the resource's history: only
// a version carrying this proposal's own marker is "ours" (own_write.h), never a marker that an
// earlier proposal's update left there — and only what is missing is sent.
//
// Threading: a function; the client must be usable from the calling thread.
#pragma once

#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"
#include "plugin/commit/write_plan.h"

namespace countersign::fhir {
class FhirClient;
}

namespace countersign::commit {

// Tag that makes the Provenance findable again (R4 Provenance has no identifier element).
inline constexpr const char* kProvenanceTagSystem = "urn:countersign:provenance";

struct CommitTarget {
  std::string proposal_id;
  int64_t revision = 0;
  bool reconcile = false;  // look on the server for earlier attempts' writes first
};

enum class ExecutionKind { kCommitted, kConflict, kFailed, kRetryLater };

struct WriteRecord {
  size_t entry_index = 0;
  std::string full_url;
  std::string resource_type;
  std::string id;
  std::string version_id;
  std::string outcome;  // created | existing | updated | already-applied | contained
  std::string Reference() const { return resource_type + "/" + id; }
  std::string Versioned() const {
    return version_id.empty() ? Reference() : Reference() + "/_history/" + version_id;
  }
};

struct Execution {
  ExecutionKind kind = ExecutionKind::kFailed;
  std::string mode;  // transaction | per-resource
  std::vector<WriteRecord> writes;
  std::string provenance_reference;    // Provenance/id/_history/v on the server
  std::string ledger_provenance_json;  // the Provenance kept locally instead
  Status error;                        // why, when not committed
  json::Document conflicts{rapidjson::kArrayType};  // [{target, baseVersion, serverVersion, patch}]
  std::vector<std::string> compensated;  // Type/id set to entered-in-error after a failure
  std::vector<std::string> notes;        // things a person should know (e.g. ledger fallback)
  // The outbox result: writes, provenance, conflicts, compensation, error.
  std::string ResultJson() const;
};

Execution ExecuteCommit(fhir::FhirClient& client, const json::Value& bundle, const WritePlan& plan,
                        const CommitTarget& target);

}  // namespace countersign::commit
