#include "fhir/operation_outcome.h"

namespace countersign::fhir {
namespace {

json::Value IssueJson(const OutcomeIssue& issue, json::Allocator& alloc) {
  json::Value value(rapidjson::kObjectType);
  json::SetString(value, "severity", issue.severity, alloc);
  json::SetString(value, "code", issue.code, alloc);
  if (!issue.diagnostics.empty()) json::SetString(value, "diagnostics", issue.diagnostics, alloc);
  if (!issue.expression.empty()) {
    json::Value expressions(rapidjson::kArrayType);
    for (const auto& e : issue.expression) expressions.PushBack(json::String(e, alloc), alloc);
    json::Set(value, "expression", std::move(expressions), alloc);
  }
  return value;
}

bool IsOperationOutcome(const json::Value& value) {
  return json::GetString(value, "resourceType") == "OperationOutcome";
}

OutcomeIssue ReadIssue(const json::Value& item) {
  OutcomeIssue issue;
  issue.severity = std::string(json::GetString(item, "severity").value_or(""));
  issue.code = std::string(json::GetString(item, "code").value_or(""));
  // Many servers put the human text in details.text instead of diagnostics.
  auto diagnostics = json::GetString(item, "diagnostics");
  const json::Value* details = json::Member(item, "details");
  if (!diagnostics && details != nullptr) diagnostics = json::GetString(*details, "text");
  issue.diagnostics = std::string(diagnostics.value_or(""));
  const json::Value* expressions = json::Member(item, "expression");
  if (expressions != nullptr && expressions->IsArray()) {
    for (const auto& e : expressions->GetArray()) {
      if (e.IsString()) issue.expression.emplace_back(e.GetString(), e.GetStringLength());
    }
  }
  return issue;
}

}  // namespace

json::Document MakeOperationOutcome(const std::vector<OutcomeIssue>& issues) {
  json::Document doc;
  doc.SetObject();
  auto& alloc = doc.GetAllocator();
  json::SetString(doc, "resourceType", "OperationOutcome", alloc);
  json::Value array(rapidjson::kArrayType);
  for (const auto& issue : issues) array.PushBack(IssueJson(issue, alloc), alloc);
  // OperationOutcome.issue is 1..*: an empty list still has to say something.
  if (issues.empty()) {
    array.PushBack(IssueJson({"information", "informational", "no issues", {}}, alloc), alloc);
  }
  json::Set(doc, "issue", std::move(array), alloc);
  return doc;
}

std::string OperationOutcomeJson(const std::vector<OutcomeIssue>& issues) {
  return json::Stringify(MakeOperationOutcome(issues));
}

std::string OperationOutcomeFor(const Status& status) {
  if (!status.operation_outcome().empty()) {
    Result<json::Document> server = json::Parse(status.operation_outcome());
    // Only passed through when it really is one: a proxy's HTML error page is not.
    if (server.ok() && IsOperationOutcome(*server)) return json::Stringify(*server);
  }
  OutcomeIssue issue;
  issue.severity = status.ok() ? "information" : "error";
  issue.code = IssueTypeFor(status.kind());
  issue.diagnostics = status.ok() ? "ok" : status.message();
  return OperationOutcomeJson({issue});
}

std::vector<OutcomeIssue> ReadOperationOutcome(const json::Value& outcome) {
  std::vector<OutcomeIssue> issues;
  if (!IsOperationOutcome(outcome)) return issues;
  const json::Value* array = json::Member(outcome, "issue");
  if (array == nullptr || !array->IsArray()) return issues;
  for (const auto& item : array->GetArray()) {
    if (item.IsObject()) issues.push_back(ReadIssue(item));
  }
  return issues;
}

std::string SummarizeOperationOutcome(const json::Value& outcome) {
  std::string summary;
  for (const auto& issue : ReadOperationOutcome(outcome)) {
    const std::string& part = issue.diagnostics.empty() ? issue.code : issue.diagnostics;
    if (part.empty()) continue;
    if (!summary.empty()) summary += "; ";
    summary += part;
  }
  return summary;
}

const char* IssueTypeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return "informational";
    case ErrorKind::kNotFound: return "not-found";
    case ErrorKind::kGone: return "deleted";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kUnauthorized: return "login";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kInvalid: return "invalid";
    case ErrorKind::kUnavailable: return "transient";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kNetwork: return "transient";
    case ErrorKind::kUnsupported: return "not-supported";
    case ErrorKind::kIllegalState: return "business-rule";
    case ErrorKind::kTooLarge: return "too-long";
    case ErrorKind::kCorruption: return "exception";
    case ErrorKind::kIoError: return "no-store";
    case ErrorKind::kInternal: return "exception";
  }
  return "exception";
}

}  // namespace countersign::fhir
