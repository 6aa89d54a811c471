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
  // Runs the engine until nothing is claimed (bounded), advancing the clock past retry delays.
  std::vector<CommitOutcome> Drain(int max_rounds = 10);
  core::ProposalStatus StatusOf(const std::string& id);

  // Server-side checks (raw HTTP).
  json::Document ServerRead(const std::string& type_and_id);
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
};

}  // namespace countersign::commit::testing
