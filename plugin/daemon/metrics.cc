#include "plugin/daemon/metrics.h"

#include <cstdio>

namespace countersign::daemon {

namespace {

const std::vector<double>& RequestBounds() {
  static const std::vector<double> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,   0.25,   0.5,   1,    2.5,   5};
  return kBounds;
}

const std::vector<double>& CommitBounds() {
  static const std::vector<double> kBounds = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                              2.5,  5,     10,   30,  60,   300};
  return kBounds;
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Label values are ours (method names, status names), but escape anyway.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(std::string& out, std::string_view name, std::string_view labels) const {
  std::string prefix(labels);
  if (!prefix.empty()) prefix += ',';
  int64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name;
    out += "_bucket{" + prefix + "le=\"" + (i < bounds_.size() ? Number(bounds_[i]) : "+Inf") +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out += std::string(name) + "_sum" + braces + " " + Number(sum_) + "\n";
  out += std::string(name) + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : commit_seconds_(CommitBounds()) {}

std::string_view MethodLabel(std::string_view method) {
  // The label set stays bounded whatever clients send: a made-up method is "other".
  for (std::string_view known :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}) {
    if (method == known) return known;
  }
  return "other";
}

void Metrics::ObserveRequest(std::string_view method, int status, double seconds) {
  const std::string label(MethodLabel(method));
  if (status < 100 || status > 599) status = 0;
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{label, status}];
  auto it = request_seconds_.find(label);
  if (it == request_seconds_.end()) {
    it = request_seconds_.emplace(label, Histogram(RequestBounds())).first;
  }
  it->second.Observe(seconds);
}

void Metrics::ObserveCommit(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  commit_seconds_.Observe(seconds);
}

void Metrics::CountCommitOutcome(std::string_view status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++commit_outcomes_[std::string(status)];
}

void Metrics::CountServerError(std::string_view kind) {
  std::lock_guard<std::mutex> lock(mu_);
  ++server_errors_[std::string(kind)];
}

void Metrics::CountWorkerError() {
  std::lock_guard<std::mutex> lock(mu_);
  ++worker_errors_;
}

std::string Metrics::Render(const std::map<std::string, int64_t>& proposals_by_status) const {
  std::string out;
  out.reserve(4096);
  if (!proposals_by_status.empty()) {
    Header(out, "countersign_proposals", "gauge", "Proposals in the store by status.");
    for (const auto& [status, n] : proposals_by_status) {
      out += "countersign_proposals{status=\"" + Escape(status) + "\"} " + std::to_string(n) + "\n";
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Header(out, "countersign_commit_latency_seconds", "histogram",
         "Time from a proposal's final approval to the end of its commit.");
  commit_seconds_.Render(out, "countersign_commit_latency_seconds", "");
  Header(out, "countersign_commit_outcomes_total", "counter",
         "Commit attempts by outcome (committed, conflict, failed, retry-later).");
  for (const auto& [status, n] : commit_outcomes_) {
    out += "countersign_commit_outcomes_total{outcome=\"" + Escape(status) + "\"} " +
           std::to_string(n) + "\n";
  }
  Header(out, "countersign_server_errors_total", "counter",
         "Errors from the FHIR server or local storage, by kind.");
  for (const auto& [kind, n] : server_errors_) {
    out += "countersign_server_errors_total{kind=\"" + Escape(kind) + "\"} " + std::to_string(n) +
           "\n";
  }
  Header(out, "countersign_commit_worker_errors_total", "counter",
         "Commit worker passes that failed as a whole.");
  out += "countersign_commit_worker_errors_total " + std::to_string(worker_errors_) + "\n";
  Header(out, "countersign_http_requests_total", "counter", "HTTP requests by method and status.");
  for (const auto& [key, n] : requests_) {
    out += "countersign_http_requests_total{method=\"" + Escape(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  Header(out, "countersign_http_request_duration_seconds", "histogram",
         "HTTP request handling time by method.");
  for (const auto& [method, h] : request_seconds_) {
    h.Render(out, "countersign_http_request_duration_seconds", "method=\"" + Escape(method) + "\"");
  }
  return out;
}

}  // namespace countersign::daemon
