// FHIR OperationOutcome: how errors are told to clients (REST surface) and read from servers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::fhir {

struct OutcomeIssue {
  std::string severity = "error";  // fatal | error | warning | information
  std::string code = "invalid";    // FHIR issue-type: invalid, structure, required, value,
                                   // forbidden, conflict, not-found, too-long, exception, ...
  std::string diagnostics;         // human-readable text
  std::vector<std::string> expression;  // FHIRPath/JSON-path locations, e.g. "draft.content.text"
};

// Builds an OperationOutcome resource.
json::Document MakeOperationOutcome(const std::vector<OutcomeIssue>& issues);
std::string OperationOutcomeJson(const std::vector<OutcomeIssue>& issues);

// An OperationOutcome for an error Status: the server's own one when the status carries it,
// else one issue built from the status (code chosen from the ErrorKind).
std::string OperationOutcomeFor(const Status& status);

// Reads issues from an OperationOutcome (empty when value is not one).
std::vector<OutcomeIssue> ReadOperationOutcome(const json::Value& outcome);
// "diagnostics; diagnostics" or the issue codes, for messages; empty when none.
std::string SummarizeOperationOutcome(const json::Value& outcome);

// The FHIR issue-type code that fits an ErrorKind ("not-found", "conflict", "forbidden", ...).
const char* IssueTypeFor(ErrorKind kind);

}  // namespace countersign::fhir
