// The FHIR R4 Task that mirrors one proposal on the FHIR server (the Task mirror,
// task_mirror.h): what an EHR shows of Countersign's review queue — who owns each AI draft and
// where it stands. Pure functions over a stored proposal; nothing here talks to a server.
//
// Task/cs-<proposal id> (client-assigned, so writing it again replaces it), identifier
// urn:countersign:proposal|<id>, status from the proposal's (TaskStatusFor), businessStatus.text
// = the Countersign status, intent "proposal", code task-code#approve, for = the patient,
// requester = the AI principal, owner = the owner (a Practitioner reference, else the queue as a
// display), statusReason = the coded reject reason, meta.security AIAST, and for committed
// proposals one output per committed resource version.
//
// Threading: functions; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"
#include "plugin/core/proposal.h"
#include "plugin/core/store.h"

namespace countersign::commit {

inline constexpr const char* kTaskIdentifierSystem = "urn:countersign:proposal";
inline constexpr const char* kTaskCodeSystem = "http://hl7.org/fhir/CodeSystem/task-code";
inline constexpr const char* kTaskOutputSystem = "urn:countersign:task-output";

// "cs-" + proposal_id; kInvalid when that is not a FHIR id ([A-Za-z0-9\-\.]{1,64}).
Result<std::string> TaskIdFor(const std::string& proposal_id);

// pending -> requested, approved -> accepted, committing -> in-progress, committed -> completed,
// rejected -> rejected, expired -> cancelled, conflict -> on-hold, failed -> failed.
const char* TaskStatusFor(core::ProposalStatus status);

// The committed resource versions ("Type/id/_history/v") the commit engine recorded in the
// proposal's done outbox entry (its result_json "writes"), in write order. Resources contained in
// the Provenance (no server id) are left out; empty when no entry records a commit.
std::vector<std::string> CommittedReferences(const std::vector<core::OutboxEntry>& outbox);

// The Task for p. `outputs` (committed references) are listed only when p is committed.
Result<json::Document> BuildTask(const core::Proposal& p, const std::vector<std::string>& outputs);

}  // namespace countersign::commit
