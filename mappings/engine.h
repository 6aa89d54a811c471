// The mapping engine: validates an AI draft (docs: mappings/README.md, schema:
// mappings/draft.schema.json) and maps it, through rule files kept as data in mappings/rules/,
// to the pending transaction Bundle Countersign holds for review. Nothing is written anywhere.
//
// Threading: a loaded MappingEngine is immutable; Map() may be called from many threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fhir/json.h"
#include "fhir/reference.h"
#include "fhir/status.h"
#include "mappings/rules.h"

namespace countersign::mappings {

// The Countersign business identifier system; value = "<proposal id>/<entry index>".
inline constexpr const char* kCountersignIdentifierSystem = "urn:countersign:proposal-entry";
// Identifier system for the AI Device; value = "<vendor>/<model>/<version>". No "|" in it: a pipe
// inside a token search value would be read as the system/value separator.
inline constexpr const char* kAiDeviceIdentifierSystem = "urn:countersign:ai-model";

// kind ("note", "appointment", "message") -> profile name (a rule file's "profile"). A kind not
// named here uses the rule file marked "default": true for it.
using ProfileSelection = std::map<std::string, std::string>;

struct MapContext {
  std::string proposal_id;    // used in business identifiers; required
  std::string recorded_time;  // FHIR instant for Provenance.recorded and rules' {{now}}; the
                              // current time when empty
  // Fetches the base version of an update's target when the draft does not embed it
  // (draft.target.resource). Unset: such drafts are refused as invalid. NotFound/Gone answers
  // refuse the draft (draft.target); any other error is returned as is (the server's fault).
  // Called from the thread calling Map().
  std::function<Result<json::Document>(const fhir::Reference& versioned_target)> resolve_base;
};

struct MappedDraft {
  json::Document draft;      // the draft as validated
  std::string kind;          // note | appointment | message
  std::string action;        // create | update | cancel | reschedule | amend | reply ...
  std::string patient;       // "Patient/123"
  std::string encounter;     // optional
  std::string idempotency_key;
  std::string requested_owner;
  std::string profile;       // the rule profile applied
  // The pending transaction Bundle: mapped resources (each with meta.security AIAST and a
  // Countersign identifier; updates with request.ifMatch), the AI Device (conditional create),
  // and the Provenance (AIProvenance profile) targeting every mapped resource.
  json::Document bundle;
  // Array of {"fullUrl", "target": "Type/id", "baseVersion", "patch": [...RFC 6902...]}, one per
  // update entry: what a reviewer sees and what guardrails check.
  json::Document patches;
};

class MappingEngine {
 public:
  // Loads and validates every rule file under rules_dir. A broken rule file fails with kInvalid
  // naming the file and the JSON path inside it. selection picks the profile per kind.
  static Result<std::unique_ptr<MappingEngine>> Load(const std::string& rules_dir,
                                                    const ProfileSelection& selection = {});
  // The same from rules already parsed (ParseRule), e.g. held in memory.
  static Result<std::unique_ptr<MappingEngine>> FromRules(std::vector<Rule> rules,
                                                          const ProfileSelection& selection = {});
  virtual ~MappingEngine() = default;

  // Validates and maps one draft. An invalid draft: kInvalid whose operation_outcome() lists
  // every problem with its JSON path in issue.expression; no partial output.
  virtual Result<MappedDraft> Map(std::string_view draft_json, const MapContext& context) const = 0;

  // The profile used for kind, or empty when the kind is unknown.
  virtual std::string ProfileFor(std::string_view kind) const = 0;
};

}  // namespace countersign::mappings
