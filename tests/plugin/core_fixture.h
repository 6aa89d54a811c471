// Test support for the governance core: a small fake MappingEngine (the real one is data-driven
// and tested on its own), the sample configuration from fixtures/config, temp files, and a
// Coordinator over a real SqliteStore file with a manual clock.
#pragma once

#include <memory>
#include <string>

#include "mappings/engine.h"
#include "plugin/core/approval_policy.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/guardrails.h"
#include "plugin/core/principals.h"
#include "plugin/core/sqlite_store.h"

namespace countersign::core::testing {

// Drafts (JSON) the fake understands:
// {"kind": "note"|"appointment"|"message", "patient": "Patient/p1", "idempotency_key": "k1",
//  "text": "...", "author": "Practitioner/dr-ada", "requested_owner": "...",
//  "resource_type": "Observation" (override the mapped type), "extra_entries": 3,
//  "delete": "DocumentReference/old",
//  "update": {"base": {...resource with id and meta.versionId...}, "changes": {...members...},
//             "also_create": true (a new resource of the kind's type first, like an amendment)},
//  "invalid": true (refused by the mapping)}
class FakeMapper : public mappings::MappingEngine {
 public:
  Result<mappings::MappedDraft> Map(std::string_view draft_json,
                                    const mappings::MapContext& context) const override;
  std::string ProfileFor(std::string_view kind) const override { return std::string(kind); }
};

std::string FixturePath(const std::string& relative);  // under fixtures/
PrincipalDirectory LoadPrincipals();
ApprovalPolicy LoadPolicy();
Guardrails LoadGuardrails();

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// Everything a coordinator test needs, over a real SQLite file.
struct CoreHarness {
  explicit CoreHarness(const SqliteStoreOptions& options = {});
  void Reopen();  // closes and reopens the store file (durability)
  // From now on the coordinator maps drafts with the shipped rules (mappings/rules) instead of
  // the fake, as the daemon does.
  void UseRealMappings(const mappings::ProfileSelection& selection = {});

  TempDir dir;
  std::string db_path;
  SqliteStoreOptions options;
  std::unique_ptr<SqliteStore> store;
  FakeMapper mapper;
  std::unique_ptr<mappings::MappingEngine> real_mapper;  // set by UseRealMappings
  PrincipalDirectory principals;
  ApprovalPolicy policy;
  Guardrails guardrails;
  ManualClock clock;
  std::unique_ptr<Coordinator> coordinator;

  const Principal& P(const std::string& id) const;  // a configured principal
  // Submits a note draft as Device/ai-scribe; requires success.
  Proposal SubmitNote(const std::string& key, const std::string& text = "Patient is well.",
                      const std::string& patient = "Patient/p1");
};

std::string NoteDraft(const std::string& key, const std::string& text = "Patient is well.",
                      const std::string& patient = "Patient/p1");

}  // namespace countersign::core::testing
