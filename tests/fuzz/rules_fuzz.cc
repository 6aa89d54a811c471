// Mapping rule files on arbitrary input: the input is written as the only rule file of a
// temporary rules directory and loaded. Never crash; a refusal names the file; an accepted rule
// set maps a fixture draft of its kind without crashing.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "mappings/engine.h"

using namespace countersign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("countersign-rules-fuzz-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "rule.json", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto engine = mappings::MappingEngine::Load(dir.string());
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
