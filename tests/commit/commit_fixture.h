// Test support for the commit engine: the governance core over a real SQLite file (fake mapper,
// fixtures/config policy), the loopback FHIR test server, a real FhirClient to it, and the
// CommitEngine under test; plus server-side checks made with raw HTTP, independent of the code
// under test.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fhir/client.h"
#include "fhir/json.h"
#include "plugin/commit/commit_engine.h"
#include "tests/plugin/core_fixture.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::commit::testing {

// A booked appointment on 2026-12-01 09:00-09:30 for Patient/p1, to create on the server and
// then update through a proposal.
inline constexpr const char* kAppointment = R"({"resourceType":"Appointment","status":"booked",
  "start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:30:00Z",
  "participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]})";

struct CommitHarness {
  // auth: how the client authenticates; by default the server config's bearer token, if any.
  explicit CommitHarness(const countersign::testing::ServerConfig& server_config = {},
                         fhir::RetryPolicy retry = FastRetry(), const fhir::AuthOptions* auth = nullptr);
  static fhir::RetryPolicy FastRetry();

  countersign::testing::TestFhirServer& server;
  core::testing::CoreHarness core;
  std::unique_ptr<fhir::FhirClient> client;
  std::unique_ptr<CommitEngine> engine;

  // Submits (as the AI) and approves (as Dr. Ada) a note; returns its id.
  std::string ApprovedNote(const std::string& key, const std::string& text = "Patient is well.");
  // Submits and approves an update of the server resource at `type_and_id` (read now, so the
  // base version is the current one) setting `changes`; also_create adds a new resource first.
  std::string ApprovedUpdate(const std::string& key, const std::string& type_and_id,
                             const std::string& changes_json, bool also_create = false,
                             const std::string& kind = "note");
  // Drafts in the real draft format, mapped by the shipped rules (mappings/rules) through a
  // Coordinator over the same store: what an integrator sends.
  core::Coordinator& Drafts();
  // Submits draft_json as `ai` through Drafts() and approves it as `approver`; returns its id.
  std::string ApprovedDraft(const std::string& draft_json, const std::string& ai = "Device/ai-scribe",
                            const std::string& approver = "Practitioner/dr-ada");
  // fixtures/drafts/hostile/note-create.json (AI vendor, model and version with spaces, '&', '+',
  // '#', '%', ',', '$', '\' and non-ASCII) with this idempotency key, and text when given.
  static std::string HostileNoteDraft(const std::string& key, const std::string& text = "");
  // A hostile draft (fixtures/drafts/hostile/<fixture>) updating the server resource type_and_id,
  // its current version embedded as the base; content members replaced by content_json's.
  std::string HostileUpdateDraft(const std::string& fixture, const std::string& key,
                                 const std::string& type_and_id,
                                 const std::string& content_json = "{}");
  std::string ApprovedHostileNote(const std::string& key, const std::string& text = "") {
    return ApprovedDraft(HostileNoteDraft(key, text));
  }
  // A reschedule of the appointment type_and_id to start (30 minutes), approved by the front desk.
  std::string ApprovedHostileReschedule(const std::string& key, const std::string& type_and_id,
                                        const std::string& start);
  // The hostile fixtures' AI Device identifier value ("<vendor>/<model>/<version>").
  static std::string HostileDeviceIdentifier(const std::string& fixture = "note-create.json");
  // "name=<system|value>" with FHIR's token escapes and percent-encoding, written here
  // independently of fhir/query.h: what a test sends to check the server on its own.
  static std::string TokenQuery(const std::string& name, const std::string& system,
                                const std::string& value);

  // Runs the engine until nothing is claimed (bounded), advancing the clock past retry delays.
  std::vector<CommitOutcome> Drain(int max_rounds = 10);
  core::ProposalStatus StatusOf(const std::string& id);

  // Server-side checks (raw HTTP).
  json::Document ServerRead(const std::string& type_and_id);
  // query is sent as given: build it encoded (TokenQuery) when a value may hold more than
  // letters, digits and "-._~:/|".
  std::vector<json::Document> ServerSearch(const std::string& type, const std::string& query);
  // Resources of `type` carrying proposal `id`'s Countersign identifier (entry `entry`).
  size_t CountByIdentifier(const std::string& type, const std::string& proposal_id, int entry = 0);
  // Creates a resource on the server (raw); returns "Type/id".
  std::string ServerCreate(const std::string& resource_json);
  void ServerUpdate(const std::string& type_and_id, const std::string& resource_json);
  // Number of FHIR write requests (POST/PUT/PATCH/DELETE) the server saw since reset.
  size_t WritesSeen();
  // The note proposal `id` is committed, its DocumentReference on the server exactly once, with
  // exactly one Provenance whose target is the note's committed version (Type/id/_history/v, no
  // version request left on it) and whose agent is the AI Device by server reference.
  void ExpectNoteCommittedOnce(const std::string& id);
  // Requests the server saw with this method whose path matches path_regex.
  size_t RequestsSeen(const std::string& method, const std::string& path_regex);
  // The Provenances tagged with proposal id.
  std::vector<json::Document> ProvenancesOf(const std::string& id);

 private:
  std::unique_ptr<mappings::MappingEngine> rules_;
  std::unique_ptr<core::Coordinator> drafts_;
  core::Store* drafts_store_ = nullptr;  // the store drafts_ was built over (core may reopen it)
};

}  // namespace countersign::commit::testing
