// Status and Result<T>: how every layer of Countersign reports success or failure.
//
// A Status is OK (free to create and copy) or an error with one normalised ErrorKind, a message
// for people, and, when the error came from a FHIR server, the HTTP status and the server's
// OperationOutcome (raw JSON text). Errors come from factories (Status::NotFound(...)) and are
// tested with predicates (s.IsConflict()). No exception is used to report an expected failure.
//
// Threading: values; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace countersign {

enum class ErrorKind {
  kOk = 0,
  // Normalised FHIR/HTTP failure kinds: one per class of server answer.
  kNotFound,      // 404
  kGone,          // 410
  kConflict,      // 409, 412, 423, 428: the server's version moved or a precondition failed
  kUnauthorized,  // 401
  kForbidden,     // 403
  kInvalid,       // 400, 405, 406, 415, 422 and other 4xx; also invalid input to Countersign
  kUnavailable,   // 429, 500, 502, 503, 504
  kTimeout,       // no answer in time
  kNetwork,       // connection refused/reset, DNS, TLS handshake/verification
  // Countersign's own failures.
  kUnsupported,   // the server (or configuration) cannot do what was asked
  kIllegalState,  // e.g. an illegal proposal status transition
  kTooLarge,      // input over a configured size limit
  kCorruption,    // stored data fails an integrity check
  kIoError,       // local storage failed
  kInternal,      // a bug: an invariant did not hold
};

// Stable lowercase name of a kind ("not-found", "conflict", ...), used in logs, JSON and the C ABI.
const char* ErrorKindName(ErrorKind kind);

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(ErrorKind kind, std::string message, int http_status = 0,
                      std::string operation_outcome = {}) {
    return Status(kind, std::move(message), http_status, std::move(operation_outcome));
  }
  static Status NotFound(std::string m) { return Error(ErrorKind::kNotFound, std::move(m)); }
  static Status Conflict(std::string m) { return Error(ErrorKind::kConflict, std::move(m)); }
  static Status Invalid(std::string m) { return Error(ErrorKind::kInvalid, std::move(m)); }
  static Status Forbidden(std::string m) { return Error(ErrorKind::kForbidden, std::move(m)); }
  static Status Unauthorized(std::string m) { return Error(ErrorKind::kUnauthorized, std::move(m)); }
  static Status Unsupported(std::string m) { return Error(ErrorKind::kUnsupported, std::move(m)); }
  static Status IllegalState(std::string m) { return Error(ErrorKind::kIllegalState, std::move(m)); }
  static Status TooLarge(std::string m) { return Error(ErrorKind::kTooLarge, std::move(m)); }
  static Status Corruption(std::string m) { return Error(ErrorKind::kCorruption, std::move(m)); }
  static Status IoError(std::string m) { return Error(ErrorKind::kIoError, std::move(m)); }
  static Status Internal(std::string m) { return Error(ErrorKind::kInternal, std::move(m)); }
  static Status Unavailable(std::string m) { return Error(ErrorKind::kUnavailable, std::move(m)); }
  static Status Timeout(std::string m) { return Error(ErrorKind::kTimeout, std::move(m)); }
  static Status Network(std::string m) { return Error(ErrorKind::kNetwork, std::move(m)); }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  // HTTP status of the server answer behind this error; 0 when there was none.
  int http_status() const { return http_status_; }
  // The server's OperationOutcome as JSON text; empty when the server sent none.
  const std::string& operation_outcome() const { return operation_outcome_; }

  bool IsNotFound() const { return kind_ == ErrorKind::kNotFound; }
  bool IsGone() const { return kind_ == ErrorKind::kGone; }
  bool IsConflict() const { return kind_ == ErrorKind::kConflict; }
  bool IsInvalid() const { return kind_ == ErrorKind::kInvalid; }
  bool IsUnauthorized() const { return kind_ == ErrorKind::kUnauthorized; }
  bool IsForbidden() const { return kind_ == ErrorKind::kForbidden; }
  bool IsUnavailable() const { return kind_ == ErrorKind::kUnavailable; }
  bool IsTimeout() const { return kind_ == ErrorKind::kTimeout; }
  bool IsNetwork() const { return kind_ == ErrorKind::kNetwork; }
  bool IsUnsupported() const { return kind_ == ErrorKind::kUnsupported; }
  bool IsIllegalState() const { return kind_ == ErrorKind::kIllegalState; }
  // Worth retrying later: the server was busy/unreachable or did not answer in time.
  bool IsTransient() const { return IsUnavailable() || IsTimeout() || IsNetwork(); }

  // "conflict: message (HTTP 412)" — for logs and CLI output. Never contains secrets.
  std::string ToString() const;

 private:
  Status(ErrorKind kind, std::string message, int http_status, std::string outcome)
      : kind_(kind), message_(std::move(message)), http_status_(http_status),
        operation_outcome_(std::move(outcome)) {}
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
  int http_status_ = 0;
  std::string operation_outcome_;
};

// A value or an error Status. Result<T> r = T{...}; or Result<T> r = Status::NotFound("...").
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {}          // NOLINT(implicit); must not be OK
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Early return of an error Status from a function returning Status or Result<U>.
#define CS_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::countersign::Status cs_status_ = (expr); \
    if (!cs_status_.ok()) return cs_status_;  \
  } while (0)

}  // namespace countersign
