// A proposal: one AI draft held for human review, with its mapped pending Bundle, status, owner,
// the AI principal that sent it, patient, kind, times, expiry and full history.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::core {

// Exactly one status at a time. Values are stable (stored as names, exported in the C ABI).
enum class ProposalStatus : int32_t {
  kPending = 0,
  kApproved = 1,
  kCommitting = 2,
  kCommitted = 3,
  kRejected = 4,
  kExpired = 5,
  kConflict = 6,  // the server moved past the base version: needs a fresh review
  kFailed = 7,    // permanent error, with the server's OperationOutcome
};

// "pending", "approved", ... as stored and shown.
const char* StatusName(ProposalStatus status);
std::optional<ProposalStatus> ParseStatus(std::string_view name);
const std::vector<ProposalStatus>& AllStatuses();
std::ostream& operator<<(std::ostream& os, ProposalStatus status);  // its name

// One entry of a proposal's history.
// ProposalEvent::event of a person's retry of a failed commit (Coordinator::RetryCommit): the
// commit engine looks on the server for earlier attempts' writes before writing again.
inline constexpr const char* kRetryEvent = "retry";

struct ProposalEvent {
  int64_t seq = 0;  // 1, 2, ... per proposal
  int64_t at = 0;
  std::string actor;  // principal id ("Practitioner/123", "Device/scribe", "system")
  std::string actor_role;
  std::string event;  // submit | transition | approve | amend | reassign
  std::string from_status;
  std::string to_status;
  std::string reason_code;
  std::string reason_text;
  std::string detail_json;
};

// A reviewer's amendment, kept beside the AI's original (revision 0).
struct Revision {
  int64_t revision = 0;
  int64_t at = 0;
  std::string author;
  std::string author_role;
  std::string draft_json;  // the edited draft, when the reviewer edited the draft
  std::string bundle_json;
  std::string patches_json;
  std::string note;
};

struct ApprovalRecord {
  int64_t revision = 0;
  std::string approver;
  std::string role;
  int64_t at = 0;
};

// What the queue shows: no content, no history.
struct ProposalSummary {
  std::string id;
  std::string kind;
  std::string action;
  std::string patient;
  std::string owner;
  std::string ai_principal;
  ProposalStatus status = ProposalStatus::kPending;
  int64_t revision = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t expires_at = 0;  // 0 = never
};

struct Proposal : ProposalSummary {
  std::string encounter;
  std::string idempotency_key;
  std::string draft_sha256;
  int64_t row_version = 0;     // bumped by every change
  std::string draft_json;      // the AI's original draft
  std::string bundle_json;     // current pending Bundle (revision `revision`)
  std::string patches_json;    // current patches
  std::string outcome_json;    // server OperationOutcome when failed
  std::vector<ProposalEvent> history;   // oldest first
  std::vector<Revision> revisions;      // amendments, oldest first
  std::vector<ApprovalRecord> approvals;
};

}  // namespace countersign::core
