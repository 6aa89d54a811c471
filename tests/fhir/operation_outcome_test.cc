#include "fhir/operation_outcome.h"

#include <boost/test/unit_test.hpp>
#include <set>

namespace countersign::fhir {
namespace {

json::Document Doc(std::string_view text) {
  auto parsed = json::Parse(text);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  return std::move(parsed).value();
}

BOOST_AUTO_TEST_SUITE(operation_outcome)

BOOST_AUTO_TEST_CASE(builds_issues) {
  OutcomeIssue full{
      "error", "required", "draft.content.text is required", {"draft.content.text", "draft.kind"}};
  OutcomeIssue minimal{"warning", "informational", "", {}};
  BOOST_TEST(
      OperationOutcomeJson({full, minimal}) ==
      R"({"resourceType":"OperationOutcome","issue":[)"
      R"({"severity":"error","code":"required","diagnostics":"draft.content.text is required",)"
      R"("expression":["draft.content.text","draft.kind"]},)"
      R"({"severity":"warning","code":"informational"}]})");
}

BOOST_AUTO_TEST_CASE(defaults_are_error_invalid) {
  OutcomeIssue issue;
  issue.diagnostics = "bad";
  json::Document doc = MakeOperationOutcome({issue});
  BOOST_TEST(json::Stringify(doc["issue"][0]) ==
             R"({"severity":"error","code":"invalid","diagnostics":"bad"})");
}

BOOST_AUTO_TEST_CASE(empty_issue_list_still_has_one_issue) {
  json::Document doc = MakeOperationOutcome({});
  BOOST_TEST_REQUIRE(doc["issue"].Size() == 1u);
  BOOST_TEST(*json::GetString(doc["issue"][0], "severity") == "information");
}

BOOST_AUTO_TEST_CASE(outcome_for_status_without_server_outcome) {
  json::Document doc = Doc(OperationOutcomeFor(Status::NotFound("no proposal 42")));
  BOOST_TEST(
      json::Stringify(doc) ==
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found",)"
      R"("diagnostics":"no proposal 42"}]})");
  json::Document conflict = Doc(OperationOutcomeFor(Status::Conflict("version moved")));
  BOOST_TEST(*json::GetString(conflict["issue"][0], "code") == "conflict");
  json::Document ok = Doc(OperationOutcomeFor(Status::Ok()));
  BOOST_TEST(*json::GetString(ok["issue"][0], "severity") == "information");
}

BOOST_AUTO_TEST_CASE(outcome_for_status_passes_the_servers_outcome_through) {
  std::string server = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                       R"("code":"business-rule","diagnostics":"ward closed"}]})";
  Status s = Status::Error(ErrorKind::kConflict, "precondition failed", 412, server);
  BOOST_TEST(OperationOutcomeFor(s) == server);
}

BOOST_AUTO_TEST_CASE(outcome_for_status_ignores_a_body_that_is_not_an_outcome) {
  for (const char* body : {"<html>502 Bad Gateway</html>", R"({"resourceType":"Patient"})"}) {
    Status s = Status::Error(ErrorKind::kUnavailable, "bad gateway", 502, body);
    json::Document doc = Doc(OperationOutcomeFor(s));
    BOOST_TEST(*json::GetString(doc, "resourceType") == "OperationOutcome");
    BOOST_TEST(*json::GetString(doc["issue"][0], "code") == "transient");
    BOOST_TEST(*json::GetString(doc["issue"][0], "diagnostics") == "bad gateway");
  }
}

BOOST_AUTO_TEST_CASE(reads_issues) {
  json::Document doc = Doc(R"({"resourceType":"OperationOutcome","issue":[
      {"severity":"error","code":"invalid","diagnostics":"a","expression":["Patient.name",3]},
      {"severity":"warning","code":"processing","details":{"text":"from details"}},
      "junk",
      {"severity":"information","code":"informational"}]})");
  auto issues = ReadOperationOutcome(doc);
  BOOST_TEST_REQUIRE(issues.size() == 3u);
  BOOST_TEST(issues[0].severity == "error");
  BOOST_TEST(issues[0].diagnostics == "a");
  BOOST_TEST_REQUIRE(issues[0].expression.size() == 1u);
  BOOST_TEST(issues[0].expression[0] == "Patient.name");
  BOOST_TEST(issues[1].diagnostics == "from details");
  BOOST_TEST(issues[2].diagnostics.empty());
  BOOST_TEST(SummarizeOperationOutcome(doc) == "a; from details; informational");
}

BOOST_AUTO_TEST_CASE(reading_something_else_gives_nothing) {
  BOOST_TEST(
      ReadOperationOutcome(Doc(R"({"resourceType":"Patient","issue":[{"code":"x"}]})")).empty());
  BOOST_TEST(ReadOperationOutcome(Doc("[]")).empty());
  BOOST_TEST(
      ReadOperationOutcome(Doc(R"({"resourceType":"OperationOutcome","issue":{}})")).empty());
  BOOST_TEST(SummarizeOperationOutcome(Doc("null")).empty());
}

BOOST_AUTO_TEST_CASE(round_trip_through_json) {
  std::vector<OutcomeIssue> issues{{"fatal", "exception", "boom", {"x"}},
                                   {"error", "value", "v", {}}};
  json::Document doc = MakeOperationOutcome(issues);
  auto back = ReadOperationOutcome(doc);
  BOOST_TEST_REQUIRE(back.size() == 2u);
  for (size_t i = 0; i < issues.size(); ++i) {
    BOOST_TEST(back[i].severity == issues[i].severity);
    BOOST_TEST(back[i].code == issues[i].code);
    BOOST_TEST(back[i].diagnostics == issues[i].diagnostics);
    BOOST_TEST(back[i].expression == issues[i].expression, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(issue_type_for_each_kind) {
  BOOST_TEST(IssueTypeFor(ErrorKind::kNotFound) == std::string("not-found"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kGone) == std::string("deleted"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kConflict) == std::string("conflict"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kUnauthorized) == std::string("login"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kForbidden) == std::string("forbidden"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kInvalid) == std::string("invalid"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kUnavailable) == std::string("transient"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kTimeout) == std::string("timeout"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kNetwork) == std::string("transient"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kUnsupported) == std::string("not-supported"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kIllegalState) == std::string("business-rule"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kTooLarge) == std::string("too-long"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kIoError) == std::string("no-store"));
  BOOST_TEST(IssueTypeFor(ErrorKind::kInternal) == std::string("exception"));
}

BOOST_AUTO_TEST_CASE(issue_types_are_r4_codes) {
  // http://hl7.org/fhir/R4/valueset-issue-type.html
  const std::set<std::string> r4{
      "invalid",       "structure", "required",         "value",         "invariant",  "security",
      "login",         "unknown",   "expired",          "forbidden",     "suppressed", "processing",
      "not-supported", "duplicate", "multiple-matches", "not-found",     "deleted",    "too-long",
      "code-invalid",  "extension", "too-costly",       "business-rule", "conflict",   "transient",
      "lock-error",    "no-store",  "exception",        "timeout",       "incomplete", "throttled",
      "informational"};
  for (int k = static_cast<int>(ErrorKind::kOk); k <= static_cast<int>(ErrorKind::kInternal); ++k) {
    const char* code = IssueTypeFor(static_cast<ErrorKind>(k));
    BOOST_TEST(r4.count(code) == 1u, ErrorKindName(static_cast<ErrorKind>(k)) << " -> " << code);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
