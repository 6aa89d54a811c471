// What the CLI prints: human-readable tables by default, the JSON as answered with --json, and a
// progress bar on stderr for long work (only when stderr is a terminal).
//
// Errors: one human line on stderr ("countersign: ..."), and a non-zero exit code. With --json,
// stdout also carries the error as a FHIR OperationOutcome (the daemon's own when it answered
// one), so a script reading stdout always gets one JSON document per answer.
#pragma once

#include <string>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::cli {

// Exit codes (stable, for scripts).
namespace exit_code {
constexpr int kOk = 0, kUsage = 1, kInvalid = 2, kAuth = 3, kNotFound = 4, kConflict = 5,
              kUnavailable = 6, kConfig = 7, kBroken = 8, kInternal = 10;
}

int ExitFor(int http_status);
int ExitFor(const Status& s);

class Reporter {
 public:
  explicit Reporter(bool json) : json_(json) {}
  bool json() const { return json_; }
  // Reports `s` and returns ExitFor(s).
  int Fail(const Status& s) const { return Report(ExitFor(s), s.ToString(), s); }
  // Reports `s` (its message, without the kind) and returns `code` (configuration: 7, ...).
  int FailWith(int code, const Status& s) const { return Report(code, s.message(), s); }
  int Usage(const std::string& why) const;
  // An HTTP error answer: its OperationOutcome body (printed as is with --json).
  int FailHttp(int status, const std::string& body) const;

 private:
  int Report(int code, const std::string& line, const Status& s) const;
  bool json_;
};

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
