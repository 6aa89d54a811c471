// Draft -> pending Bundle (validate, map, serialize) per kind, side by side with RapidJSON only
// parsing and stringifying the same input and output bytes (target <= 2x).
// Usage: map_bench [--iterations 20000]
#include "plugin/daemon/heap_tuning.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mappings/engine.h"

namespace {

using namespace countersign;
using Clock = std::chrono::steady_clock;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  // What the daemon does (brk + page faults dominated the profile without it).
  countersign::TuneHeapForRequests();
  int iterations = 20000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::atoi(argv[i + 1]);
  }
  // Bounded: whole batches, at least one, at most a million drafts per fixture.
  const int batch = 500;
  iterations = std::clamp(iterations, batch, 1000000) / batch * batch;
  const std::string root = COUNTERSIGN_SOURCE_DIR;
  auto engine = mappings::MappingEngine::Load(root + "/mappings/rules");
  if (!engine.ok()) {
    std::fprintf(stderr, "map_bench: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  std::printf("%-28s %12s %12s %7s\n", "draft", "mapped/s", "baseline/s", "ratio");
  for (const char* name : {"note-create", "note-amend", "appointment-create",
                           "appointment-create-duration", "appointment-reschedule",
                           "appointment-cancel", "message-create", "message-reply"}) {
    std::string draft = Read(root + "/fixtures/drafts/" + name + ".json");
    mappings::MapContext ctx;
    ctx.proposal_id = "bench";
    ctx.recorded_time = "2026-11-25T00:00:00Z";
    auto first = (*engine)->Map(draft, ctx);
    if (!first.ok()) {
      std::fprintf(stderr, "map_bench: %s: %s\n", name, first.status().ToString().c_str());
      return 1;
    }
    const std::string output = json::Stringify(first->bundle);
    size_t sink = 0;
    // Alternate short batches of each so both see the same machine state.
    double mapped_s = 0, base_s = 0;
    for (int done = 0; done < iterations; done += batch) {
      auto t0 = Clock::now();
      for (int i = 0; i < batch; ++i) {
        auto m = (*engine)->Map(draft, ctx);
        sink += json::Stringify(m->bundle).size();
      }
      auto t1 = Clock::now();
      for (int i = 0; i < batch; ++i) {
        auto in = json::Parse(draft);
        sink += json::Stringify(*in).size();
        auto out = json::Parse(output);
        sink += json::Stringify(*out).size();
      }
      auto t2 = Clock::now();
      mapped_s += std::chrono::duration<double>(t1 - t0).count();
      base_s += std::chrono::duration<double>(t2 - t1).count();
    }
    std::printf("%-28s %12.0f %12.0f %6.2fx%s\n", name, iterations / mapped_s, iterations / base_s,
                mapped_s / base_s, sink == 0 ? "?" : "");
  }
  return 0;
}
