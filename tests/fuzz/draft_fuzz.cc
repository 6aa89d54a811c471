// Draft validation and mapping on arbitrary input, with the shipped rules: never crash; an
// invalid draft is kInvalid with an OperationOutcome that names at least one path.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "mappings/engine.h"

using namespace countersign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<mappings::MappingEngine> engine = [] {
    auto e = mappings::MappingEngine::Load(std::string(COUNTERSIGN_SOURCE_DIR) + "/mappings/rules");
    if (!e.ok()) std::abort();
    return std::move(e).value();
  }();
  mappings::MapContext ctx;
  ctx.proposal_id = "fuzz";
  ctx.recorded_time = "2026-01-01T00:00:00Z";
  auto m = engine->Map(std::string_view(reinterpret_cast<const char*>(data), size), ctx);
  if (!m.ok()) {
    if (!m.status().IsInvalid()) std::abort();
    if (m.status().operation_outcome().find("\"expression\"") == std::string::npos) std::abort();
  } else if (!m->bundle.IsObject()) {
    std::abort();
  }
  return 0;
}
