// Local storage that ran out of space (SQLITE_FULL, PostgreSQL's SQLSTATE 53100 disk_full) is a
// transient condition, not a bug: the write can succeed once space is freed. Both stores report
// it as kUnavailable with this marker, so the daemon answers 503 with Retry-After and reports
// not-ready instead of a bare 500.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "fhir/status.h"

namespace countersign::core {

inline constexpr std::string_view kStorageFullMarker = "storage full";

// kUnavailable "storage full: <detail>". detail names the store's own message, never data.
inline Status StorageFull(std::string_view detail) {
  return Status::Unavailable(std::string(kStorageFullMarker) + ": " + std::string(detail));
}

inline bool IsStorageFull(const Status& s) {
  return s.IsUnavailable() && s.message().find(kStorageFullMarker) != std::string::npos;
}

}  // namespace countersign::core
