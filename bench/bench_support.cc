#include "bench/bench_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fhir/json.h"

namespace countersign::bench {

int ArgInt(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

bool Flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return true;
  }
  return false;
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[std::min(i, samples.size() - 1)];
}

std::unique_ptr<mappings::MappingEngine> LoadShippedRules() {
  auto engine = mappings::MappingEngine::Load(std::string(COUNTERSIGN_SOURCE_DIR) + "/mappings/rules");
  if (!engine.ok()) {
    std::fprintf(stderr, "mapping rules: %s\n", engine.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(engine).value();
}

std::string NoteDraft(const std::string& key, const std::string& text, const std::string& patient) {
  static const std::string fixture = [] {
    std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/drafts/note-create.json");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }();
  auto d = json::Parse(fixture);
  if (!d.ok()) {
    std::fprintf(stderr, "fixtures/drafts/note-create.json: %s\n", d.status().ToString().c_str());
    std::exit(1);
  }
  auto& a = d->GetAllocator();
  json::SetString(*d, "idempotency_key", key, a);
  json::SetString(*d, "patient", patient, a);
  json::SetString((*d)["content"], "text", text, a);
  return json::Stringify(*d);
}

}  // namespace countersign::bench
