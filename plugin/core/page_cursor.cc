#include "plugin/core/page_cursor.h"

#include <charconv>

namespace countersign::core {

std::string EncodePageCursor(int64_t created_at, const std::string& id) {
  return std::to_string(created_at) + ":" + id;
}

bool DecodePageCursor(const std::string& cursor, int64_t& created_at, std::string& id) {
  size_t colon = cursor.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  auto [ptr, ec] = std::from_chars(cursor.data(), cursor.data() + colon, created_at);
  if (ec != std::errc() || ptr != cursor.data() + colon) return false;
  id = cursor.substr(colon + 1);
  return !id.empty();
}

}  // namespace countersign::core
