#include "fhir/status.h"

namespace countersign {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return "ok";
    case ErrorKind::kNotFound: return "not-found";
    case ErrorKind::kGone: return "gone";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kUnauthorized: return "unauthorized";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kInvalid: return "invalid";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kNetwork: return "network";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kIllegalState: return "illegal-state";
    case ErrorKind::kTooLarge: return "too-large";
    case ErrorKind::kCorruption: return "corruption";
    case ErrorKind::kIoError: return "io-error";
    case ErrorKind::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = ErrorKindName(kind_);
  s += ": ";
  s += message_;
  if (http_status_ != 0) s += " (HTTP " + std::to_string(http_status_) + ")";
  return s;
}

}  // namespace countersign
