// Mapping rule files (mappings/rules/*.json): one per kind and target profile, data only.
//
// {
//   "kind": "note", "profile": "us-core-documentreference", "default": true,
//   "actions": {
//     "create": {"required": ["content.text", "content.author"],
//                "writes": [{"op": "create", "template": {...resource template...}}]},
//     "amend":  {"required": [...], "target": true,
//                "writes": [{"op": "create", "template": {...}},
//                           {"op": "update-target", "set": {"status": "superseded"}}]}
//   }
// }
// Templates and "set" values use the placeholders of template.h against the draft. "create"
// writes a new resource (POST); "update-target" changes the draft's target resource at its base
// version (PUT with If-Match), setting the rendered members and removing those in "remove".
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
  std::vector<std::string> remove;  // update-target: members to remove
};

struct RuleAction {
  std::vector<std::string> required;  // dotted draft paths that must be present
  bool needs_target = false;          // the draft must name a target (and its base version)
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
