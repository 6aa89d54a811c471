// Mapping rule files on arbitrary input: the input is parsed as the only rule file
// ("rule.json", in memory: the directory walk is LoadRules' only extra and costs a file write
// per input) and an engine is built from it. Never crash; a refusal names the file; an
// accepted rule set maps a fixture draft of its kind without crashing.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "mappings/engine.h"

using namespace countersign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rule = mappings::ParseRule("rule.json", text);
  if (!rule.ok()) {
    if (rule.status().message().find("rule.json") == std::string::npos) std::abort();
    return 0;
  }
  std::vector<mappings::Rule> rules;
  rules.push_back(std::move(rule).value());
  auto engine = mappings::MappingEngine::FromRules(std::move(rules));
  if (!engine.ok()) {
    if (engine.status().message().find("rule.json") == std::string::npos) std::abort();
    return 0;
  }
  static const std::string draft = [] {
    std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/drafts/note-create.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  mappings::MapContext ctx;
  ctx.proposal_id = "fuzz";
  ctx.recorded_time = "2026-01-01T00:00:00Z";
  (void)(*engine)->Map(draft, ctx);
  return 0;
}
