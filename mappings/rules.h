// Mapping rule files (mappings/rules/*.json): one per kind and target profile, data only. The
// format is documented in mappings/README.md ("Rule files"):
//
// {
//   "kind": "note", "profile": "us-core-documentreference", "default": true,
//   "actions": {
//     "create": {"required": ["content.text", "content.author"],
//                "writes": [{"op": "create", "template": {...resource template...}}]},
//     "amend":  {"required": [...], "target": "DocumentReference",
//                "writes": [{"op": "create", "template": {...}},
//                           {"op": "update-target", "set": {"status": "superseded"}}]}
//   }
// }
// "required" entries are draft paths; "a|b" means at least one of them. "target" is true (any
// resource type) or the resource type the draft's target must have. Templates and "set" values
// use the placeholders of template.h against the draft; every placeholder path must be a field
// of the draft format (checked at load). "create" writes a new resource (POST); "update-target"
// changes the draft's target resource at its base version (PUT with If-Match): it first removes
// the members named in "remove", then sets the rendered "set" members.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::mappings {

struct RuleWrite {
  std::string op;            // create | update-target
  json::Document tmpl;       // create: the resource template; update-target: the "set" object
  std::vector<std::string> remove;  // update-target: members removed before "set" applies
};

struct RuleAction {
  // Dotted draft paths that must be present; each entry holds alternatives (any one suffices).
  std::vector<std::vector<std::string>> required;
  bool needs_target = false;  // the draft must name a target (and its base version)
  std::string target_type;    // when set, the resource type that target must have
  std::vector<RuleWrite> writes;
};

struct Rule {
  std::string file;
  std::string kind;
  std::string profile;
  bool is_default = false;
  std::map<std::string, RuleAction> actions;
};

// Parses and validates one rule file's text; kInvalid "<file>: <json path>: <why>".
Result<Rule> ParseRule(const std::string& file, std::string_view text);
// Every *.json under dir, sorted by name; kInvalid on the first broken one, kIoError when the
// directory cannot be read, kInvalid when it holds no rules.
Result<std::vector<Rule>> LoadRules(const std::string& dir);

}  // namespace countersign::mappings
