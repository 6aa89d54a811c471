// The Store: where proposals, their history, the commit outbox and the audit trail live.
//
// SqliteStore (sqlite_store.h) is the embedded default; PgStore (pg_store.h) runs on PostgreSQL,
// for several instances sharing one database. Both pass the same conformance suite
// (tests/plugin/store_conformance_test.cc).
//
// Contracts every backend keeps:
// - Every mutating call is one transaction: all of it (proposal rows, history event, revision,
//   approval, outbox entry, audit record) is durable before the call returns OK, or none of it
//   is stored. Nothing is half-written.
// - An OK return means durable on disk (fsync'd), possibly shared with other callers' changes
//   (group commit). One exception, the commit engine's own bookkeeping: ClaimOutbox,
//   DeferOutbox and a CompleteOutbox that marks the proposal committed survive a process crash
//   but may skip the fsync, so a power cut can roll them back (never past an fsync'd change:
//   the log is ordered, and every later fsync'd transaction makes them durable too). That is
//   safe because the engine re-derives them: a rolled-back claim is claimed again and the
//   commit reconciles with the FHIR server (creates found by identifier), which is what it does
//   after any crash. People's decisions, submissions and failed/conflict outcomes always sync.
//   WriteCursor may skip the fsync the same way: a cursor marks re-derivable progress of a
//   reader whose work is idempotent (the Task mirror), which redoes a little after a power cut.
// - Status changes are compare-and-set against expected_status and checked against the state
//   machine (state_machine.h); a refused change leaves the store untouched.
// - The audit trail is append-only and hash-chained (audit_chain.h); records get seq 1, 2, ...
// - Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fhir/status.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/proposal.h"

namespace countersign::core {

struct NewProposal {
  std::string id;  // chosen by the caller (a UUID)
  std::string kind;
  std::string action;
  std::string patient;
  std::string encounter;
  std::string ai_principal;
  std::string idempotency_key;  // unique per ai_principal
  std::string owner;
  std::string draft_json;
  std::string bundle_json;
  std::string patches_json;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // 0 = never
};

struct CreateResult {
  Proposal proposal;
  bool created = true;  // false: an earlier submission with the same key and draft was returned
};

struct ProposalFilter {
  std::optional<std::string> owner;
  std::optional<ProposalStatus> status;
  std::optional<std::string> patient;
  std::optional<std::string> kind;
  std::optional<int64_t> created_before;  // age: created_at < this (ms)
};

// Keyset paging in (created_at, id) order, oldest first. `after` is the opaque cursor from the
// previous page's next_cursor; empty for the first page.
struct PageRequest {
  int limit = 50;  // 1..1000
  std::string after;
};

struct ProposalPage {
  std::vector<ProposalSummary> items;
  std::string next_cursor;  // empty when this is the last page
};

// The commit engine's unit of work, written with the final approval.
struct OutboxEntry {
  int64_t id = 0;
  std::string proposal_id;
  int64_t revision = 0;
  int64_t created_at = 0;
  std::string state;  // ready | claimed | done
  int64_t attempts = 0;
  std::string claimed_by;
  int64_t lease_until = 0;
  int64_t completed_at = 0;
  std::string result_json;
  std::string bundle_sha256;  // SHA-256 (hex) of the approved bundle_json, taken at approval
  int64_t not_before = 0;     // not claimed again before this time (retry later)
};

// One Provenance kept locally because the FHIR server would not store it.
struct LedgerEntry {
  int64_t seq = 0;
  std::string proposal_id;
  int64_t revision = 0;
  int64_t recorded_at = 0;
  std::string provenance_json;
};

// One atomic change to one proposal. Everything present is applied in one transaction, or
// nothing is. The history event is always recorded (its event name is `event`).
struct ProposalUpdate {
  std::string proposal_id;
  ProposalStatus expected_status = ProposalStatus::kPending;  // compare-and-set
  std::optional<int64_t> expected_row_version;                // optional optimistic check
  std::optional<ProposalStatus> new_status;                   // legal from expected_status
  std::optional<std::string> new_owner;                       // reassignment
  std::optional<std::string> new_bundle_json;                 // e.g. the Provenance gained a verifier
  std::optional<std::string> outcome_json;                    // failed: the server's OperationOutcome
  std::optional<Revision> revision;      // an amendment; becomes the current revision (must be
                                         // current+1); also sets bundle/patches
  std::optional<ApprovalRecord> approval;  // refused (kConflict) if this approver already
                                           // approved that revision
  bool enqueue_outbox = false;             // add a ready outbox entry for the current revision
                                           // (with the SHA-256 of the resulting bundle_json)
  std::optional<std::string> ledger_provenance_json;  // append to the local Provenance ledger
  ProposalEvent event;                     // seq is assigned by the store
  std::optional<AuditRecord> audit;        // seq/hash assigned by the store
};

class Store {
 public:
  virtual ~Store() = default;

  // Marks this instance as the one serving the store (the REST daemon), for as long as the
  // Store lives. SQLite: one per database file, kIllegalState naming the other's pid when it is
  // already served; other processes that open the file without serving it (the CLI's local
  // admin commands) are not affected. PostgreSQL: several instances may serve one database.
  virtual Status ClaimServing() { return Status::Ok(); }

  // Creates the proposal (with a "submit" history event and the audit record). When the same
  // ai_principal already used idempotency_key: the same draft returns the stored proposal with
  // created=false (the audit record is not written); a different draft is kConflict.
  virtual Result<CreateResult> CreateProposal(const NewProposal& proposal,
                                              const AuditRecord& audit) = 0;

  // The proposal with its history, revisions and approvals; kNotFound when absent.
  virtual Result<Proposal> GetProposal(const std::string& id) = 0;

  // A page of summaries matching every given filter, in (created_at, id) order.
  virtual Result<ProposalPage> ListProposals(const ProposalFilter& filter,
                                             const PageRequest& page) = 0;

  // Applies update atomically; returns the proposal as it is afterwards.
  // kNotFound: no such proposal. kConflict: status (or row version) is not the expected one, or
  // a duplicate approval. kIllegalState: the state machine forbids the transition. kInvalid:
  // malformed update (e.g. revision number not current+1).
  virtual Result<Proposal> UpdateProposal(const ProposalUpdate& update) = 0;

  // Ids of proposals in `status` whose expires_at is in (0, now], oldest deadline first.
  virtual Result<std::vector<std::string>> ListExpired(int64_t now, int limit) = 0;

  // Appends one audit record (seq and hashes are assigned); returns it sealed.
  virtual Result<AuditRecord> AppendAudit(const AuditRecord& record) = 0;
  // Up to limit records with seq > after_seq, in seq order, exactly as stored.
  virtual Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) = 0;
  // The chain's recorded head (count, last hash).
  virtual Result<AuditHead> ReadAuditHead() = 0;

  // Commit-engine hooks. ClaimOutbox takes up to limit entries that are ready or whose lease
  // ran out, marks them claimed by worker until now+lease_ms, moves their proposals
  // approved -> committing (with history + a commit-attempt audit record), in one transaction.
  virtual Result<std::vector<OutboxEntry>> ClaimOutbox(const std::string& worker, int64_t now,
                                                       int64_t lease_ms, int limit) = 0;
  // Marks the entry done with result_json and applies update (committing -> committed |
  // conflict | failed, with its audit record) in the same transaction. kConflict when the entry
  // is not claimed by worker. Answers no Proposal: the engine, its only caller, has it already,
  // and a read-back after every commit cost a fresh page-cache load on SQLite.
  virtual Status CompleteOutbox(int64_t outbox_id, const std::string& worker,
                                const std::string& result_json, const ProposalUpdate& update) = 0;
  virtual Result<std::vector<OutboxEntry>> ListOutbox(const std::string& proposal_id) = 0;
  // Leaves the entry claimed by worker but not reclaimable before not_before (a transient
  // failure: retry later); records the attempt's error in result_json. kConflict when the entry
  // is not claimed by worker.
  virtual Status DeferOutbox(int64_t outbox_id, const std::string& worker, int64_t not_before,
                             const std::string& result_json) = 0;

  // Named cursors: where a background reader of the audit trail (e.g. the FHIR Task mirror,
  // plugin/commit/task_mirror.h) has got to. ReadCursor: the last written value, 0 when the
  // name was never written. WriteCursor: sets it, creating the name (any value >= 0; it may
  // move back, e.g. to mirror everything again). kInvalid for an empty name or a negative value.
  virtual Result<int64_t> ReadCursor(const std::string& name) = 0;
  virtual Status WriteCursor(const std::string& name, int64_t value) = 0;

  // The local Provenance ledger, in seq order: up to limit entries with seq > after_seq
  // (proposal_id empty = all proposals).
  virtual Result<std::vector<LedgerEntry>> ReadProvenanceLedger(const std::string& proposal_id,
                                                                int64_t after_seq, int limit) = 0;
};

// The whole chain checked against the store's head: the first broken link, if any.
Result<AuditVerification> VerifyAudit(Store& store);

}  // namespace countersign::core
