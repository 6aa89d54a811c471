// The tamper-evident audit trail: each record's hash is SHA-256 over the previous record's hash
// and this record's canonical serialization, so editing, deleting or reordering any record
// breaks the chain at that record. Backends store records; the chain rules live here only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fhir/status.h"

namespace countersign::core {

// Audit actions (AuditRecord::action). Stable names: they are hashed and exported.
namespace audit {
inline constexpr const char* kSubmit = "submit";            // a proposal was created (or refused)
inline constexpr const char* kView = "view";                // a reviewer saw the content (PHI)
inline constexpr const char* kApprove = "approve";          // an approval (final or first of two)
inline constexpr const char* kAmend = "amend";              // amend-then-approve
inline constexpr const char* kReject = "reject";
inline constexpr const char* kReassign = "reassign";
inline constexpr const char* kExpire = "expire";
inline constexpr const char* kTransition = "transition";    // any other status change
inline constexpr const char* kCommitAttempt = "commit-attempt";
inline constexpr const char* kCommitResult = "commit-result";
inline constexpr const char* kCommitRetry = "commit-retry";    // a person re-queued a failed commit
inline constexpr const char* kExport = "export";
}  // namespace audit

inline constexpr int kOutcomeSuccess = 0;
inline constexpr int kOutcomeMinorFailure = 4;  // refused requests (forbidden, invalid)
inline constexpr int kOutcomeSeriousFailure = 8;

struct AuditRecord {
  int64_t seq = 0;  // assigned by the store: 1, 2, ... without gaps
  int64_t at = 0;   // ms since epoch
  std::string actor;
  std::string actor_role;
  std::string action;
  std::string proposal_id;  // may be empty (e.g. a refused submission)
  std::string patient;      // may be empty
  int outcome = kOutcomeSuccess;
  std::string detail_json;  // a JSON object as text ("{}" when nothing)
  std::string prev_hash;    // hex; "" for the first record
  std::string hash;         // hex
};

// The bytes that are hashed: a JSON array in fixed field order of every field but `hash`.
std::string CanonicalAuditRecord(const AuditRecord& record);
// Lowercase hex SHA-256 of prev_hash + "\n" + CanonicalAuditRecord(record).
std::string ComputeAuditHash(const AuditRecord& record);
std::string Sha256Hex(std::string_view bytes);

// Fills seq, prev_hash and hash for a record appended after (head_count, head_hash).
void SealAuditRecord(AuditRecord& record, int64_t head_count, const std::string& head_hash);

struct AuditVerification {
  bool ok = true;
  int64_t records = 0;            // records checked
  int64_t first_broken = 0;       // seq of the first broken link (0 when ok)
  std::string reason;             // "hash mismatch", "prev_hash mismatch", "gap", ...
};

// Verifies records read in seq order, page by page: read(after_seq, limit) returns up to limit
// records with seq > after_seq. head_count/head_hash are what the store says the chain's head
// is (detects deletion of the newest records); pass nullopt to skip that check.
struct AuditHead {
  int64_t count = 0;
  std::string hash;
};
Result<AuditVerification> VerifyAuditChain(
    const std::function<Result<std::vector<AuditRecord>>(int64_t after_seq, int limit)>& read,
    const std::optional<AuditHead>& head);

}  // namespace countersign::core
