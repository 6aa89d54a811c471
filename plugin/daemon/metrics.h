// Metrics for GET /metrics in the Prometheus text exposition format (version 0.0.4).
//
// Counters and histograms are kept in memory from process start; the proposals-by-status gauge is
// supplied by the caller at render time (it comes from the store, see api.h).
//
// Threading: every method is thread-safe (the REST handlers and the commit worker share one).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::daemon {

// A cumulative histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Appends the _bucket/_sum/_count lines for name (with labels, e.g. `method="GET"`, or empty).
  void Render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  int64_t count_ = 0;
};

// The label a method is counted under: itself when standard (GET, POST, ...), else "other".
std::string_view MethodLabel(std::string_view method);

class Metrics {
 public:
  Metrics();

  // One HTTP request answered with status after `seconds`. Methods outside the standard nine
  // are counted as "other", so the series stay bounded whatever clients send.
  void ObserveRequest(std::string_view method, int status, double seconds);
  // One proposal finished committing: seconds from its final approval to the commit's end.
  void ObserveCommit(double seconds);
  // A commit outcome (committed | conflict | failed | retry-later).
  void CountCommitOutcome(std::string_view status);
  // An error from the FHIR server or a local failure, by ErrorKindName (unavailable, timeout...).
  void CountServerError(std::string_view kind);
  // One commit worker pass that failed as a whole (the store refused the claim).
  void CountWorkerError();

  // The whole exposition. proposals_by_status: status name -> count (every status, zeros too);
  // empty when the count was unavailable (the gauge is then omitted).
  std::string Render(const std::map<std::string, int64_t>& proposals_by_status) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (method, status) -> count
  std::map<std::string, Histogram> request_seconds_;         // method -> histogram
  Histogram commit_seconds_;
  std::map<std::string, int64_t> commit_outcomes_;
  std::map<std::string, int64_t> server_errors_;
  int64_t worker_errors_ = 0;
};

}  // namespace countersign::daemon
