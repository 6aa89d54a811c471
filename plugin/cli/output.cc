#include "plugin/cli/output.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <vector>

#include "fhir/operation_outcome.h"

namespace countersign::cli {
namespace {

std::string Str(const json::Value& v, const char* name) {
  return std::string(json::GetString(v, name).value_or(""));
}

std::string Age(int64_t created_ms) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t s = std::max<int64_t>(0, (now - created_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

}  // namespace

int ExitFor(int http_status) {
  using namespace exit_code;
  if (http_status >= 200 && http_status < 300) return kOk;
  switch (http_status) {
    case 401: case 403: return kAuth;
    case 404: return kNotFound;
    case 409: return kConflict;
    case 503: return kUnavailable;
    case 500: return kInternal;
    default: return http_status >= 400 && http_status < 500 ? kInvalid : kInternal;
  }
}

int ExitFor(const Status& s) {
  using namespace exit_code;
  switch (s.kind()) {
    case ErrorKind::kOk: return kOk;
    case ErrorKind::kInvalid: case ErrorKind::kTooLarge: return kInvalid;
    case ErrorKind::kUnauthorized: case ErrorKind::kForbidden: return kAuth;
    case ErrorKind::kNotFound: case ErrorKind::kGone: return kNotFound;
    case ErrorKind::kConflict: case ErrorKind::kIllegalState: return kConflict;
    case ErrorKind::kUnavailable: case ErrorKind::kTimeout: case ErrorKind::kNetwork: return kUnavailable;
    default: return kInternal;
  }
}

int Reporter::Report(int code, const std::string& line, const Status& s) const {
  std::cerr << "countersign: " << line << "\n";
  if (json_) {
    std::cout << fhir::OperationOutcomeFor(s) << std::endl;
  } else if (!s.operation_outcome().empty()) {
    PrintOutcome(s.operation_outcome());
  }
  return code;
}

int Reporter::Usage(const std::string& why) const {
  std::cerr << "countersign: " << why << " (see countersign help)\n";
  if (json_) {
    std::cout << fhir::OperationOutcomeJson({{"error", "invalid", why, {}}}) << std::endl;
  }
  return exit_code::kUsage;
}

int Reporter::FailHttp(int status, const std::string& body) const {
  std::cerr << "countersign: HTTP " << status << "\n";
  PrintOutcome(body);
  if (json_) {
    auto doc = json::Parse(body, 64);
    if (doc.ok() && json::GetString(*doc, "resourceType").value_or("") == "OperationOutcome") {
      std::cout << json::Pretty(*doc) << std::endl;
    } else {
      std::cout << fhir::OperationOutcomeJson(
                       {{"error", "exception", "HTTP " + std::to_string(status), {}}})
                << std::endl;
    }
  }
  return ExitFor(status);
}

void PrintProposalTable(const json::Value& page) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "KIND", "ACTION", "STATUS", "OWNER", "PATIENT", "AGE"}};
  if (const json::Value* items = json::Member(page, "items"); items && items->IsArray()) {
    for (const auto& p : items->GetArray()) {
      rows.push_back({Str(p, "id"), Str(p, "kind"), Str(p, "action"), Str(p, "status"),
                      Str(p, "owner"), Str(p, "patient"),
                      Age(json::GetInt(p, "created_at").value_or(0))});
    }
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  if (rows.size() == 1) std::cout << "(no proposals)\n";
  if (auto next = json::GetString(page, "next_cursor")) {
    std::cout << "more: --after " << *next << "\n";
  }
}

void PrintProposal(const json::Value& p) {
  std::cout << "proposal  " << Str(p, "id") << "\n"
            << "kind      " << Str(p, "kind") << " / " << Str(p, "action") << "\n"
            << "status    " << Str(p, "status") << "\n"
            << "owner     " << Str(p, "owner") << "\n"
            << "patient   " << Str(p, "patient") << "\n"
            << "from      " << Str(p, "ai_principal") << "\n"
            << "revision  " << json::GetInt(p, "revision").value_or(0) << "\n";
  if (const json::Value* h = json::Member(p, "history"); h && h->IsArray()) {
    std::cout << "history\n";
    for (const auto& e : h->GetArray()) {
      std::string line = "  " + Str(e, "event") + " by " + Str(e, "actor");
      std::string role = Str(e, "actor_role");
      if (!role.empty()) line += " (" + role + ")";
      std::string from = Str(e, "from"), to = Str(e, "to");
      if (!to.empty()) line += ": " + from + " -> " + to;
      std::string reason = Str(e, "reason_code");
      if (!reason.empty()) line += " reason " + reason;
      std::cout << line << "\n";
    }
  }
  if (const json::Value* d = json::Member(p, "diff")) std::cout << "diff\n" << json::Pretty(*d) << "\n";
}

void PrintOutcome(const std::string& body) {
  auto doc = json::Parse(body);
  if (!doc.ok()) {
    std::cerr << body << "\n";
    return;
  }
  auto issues = fhir::ReadOperationOutcome(*doc);
  if (issues.empty()) {
    std::cerr << body << "\n";
    return;
  }
  for (const auto& i : issues) {
    std::string where;
    for (const auto& e : i.expression) where += (where.empty() ? " at " : ", ") + e;
    std::cerr << i.severity << " (" << i.code << "): " << i.diagnostics << where << "\n";
  }
}

Progress::Progress(std::string label, size_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(STDERR_FILENO) == 1) {}

void Progress::Step(size_t done) {
  if (!tty_ || total_ == 0) return;
  const int width = 30;
  int filled = static_cast<int>(width * done / total_);
  std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", label_.c_str(), std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total_);
  std::fflush(stderr);
}

void Progress::Done() {
  if (tty_ && total_ > 0) std::fprintf(stderr, "\n");
}

}  // namespace countersign::cli
