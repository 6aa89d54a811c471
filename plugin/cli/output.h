// What the CLI prints: human-readable tables by default, the JSON as answered with --json, and a
// progress bar on stderr for long work (only when stderr is a terminal).
#pragma once

#include <string>

#include "fhir/json.h"

namespace countersign::cli {

// The proposal queue as a table: ID, KIND, ACTION, STATUS, OWNER, PATIENT, AGE.
void PrintProposalTable(const json::Value& page);
// One proposal: summary lines, history, and (when present) the server diff.
void PrintProposal(const json::Value& proposal);
// The OperationOutcome's issues, one per line, on stderr.
void PrintOutcome(const std::string& body);

class Progress {
 public:
  Progress(std::string label, size_t total);
  void Step(size_t done);
  void Done();

 private:
  std::string label_;
  size_t total_;
  bool tty_;
};

}  // namespace countersign::cli
