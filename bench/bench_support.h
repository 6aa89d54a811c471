// Helpers shared by the benchmarks: arguments, percentiles, and drafts mapped by the real engine
// with the shipped rules (mappings/rules), so a benchmark measures what a deployment runs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mappings/engine.h"

namespace countersign::bench {

// The value after `name` ("--rounds 300"), else fallback.
int ArgInt(int argc, char** argv, const char* name, int fallback);
// True when `name` is among the arguments.
bool Flag(int argc, char** argv, const char* name);

// The p-th percentile (0..100) of samples (copied and sorted; 0 when empty).
double Percentile(std::vector<double> samples, double p);

// The real mapping engine over the repository's mappings/rules; exits the process on failure.
std::unique_ptr<mappings::MappingEngine> LoadShippedRules();

// fixtures/drafts/note-create.json with its own idempotency key, text and patient.
std::string NoteDraft(const std::string& key, const std::string& text, const std::string& patient);

}  // namespace countersign::bench
