// The config loader on arbitrary text (relative to fixtures/config): never crash; errors are
// kInvalid / kUnsupported / kIoError with a message.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "plugin/config/config.h"

using namespace countersign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = config::Config::Parse(std::string_view(reinterpret_cast<const char*>(data), size),
                                 std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config");
  if (!c.ok() && c.status().message().empty()) std::abort();
  return 0;
}
