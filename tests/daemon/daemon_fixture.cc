#include "tests/daemon/daemon_fixture.h"

#include <boost/test/unit_test.hpp>

#include "fhir/json.h"
#include "plugin/core/audit_chain.h"

namespace countersign::daemon::testing {

Authenticator MakeAuthenticator(const core::PrincipalDirectory& principals) {
  std::map<std::string, std::string> by_hash = {
      {core::Sha256Hex(kAiToken), "Device/ai-scribe"},
      {core::Sha256Hex(kAdaToken), "Practitioner/dr-ada"},
      {core::Sha256Hex(kGraceToken), "Practitioner/dr-grace"},
      {core::Sha256Hex(kSamToken), "Practitioner/fd-sam"},
      {core::Sha256Hex(kKimToken), "Practitioner/admin-kim"},
  };
  const core::PrincipalDirectory* dir = &principals;
  return [by_hash, dir](std::string_view token) -> Result<core::Principal> {
    auto it = by_hash.find(core::Sha256Hex(token));
    if (it == by_hash.end()) return Status::Unauthorized("unknown token");
    const core::Principal* p = dir->Find(it->second);
    if (!p) return Status::Unauthorized("unknown principal");
    return *p;
  };
}

ApiHarness::ApiHarness(ApiLimits limits) { api = std::make_unique<Api>(Deps(limits)); }

ApiDeps ApiHarness::Deps(ApiLimits limits) {
  ApiDeps deps;
  deps.coordinator = core.coordinator.get();
  deps.store = core.store.get();
  deps.policy = &core.policy;
  deps.authenticate = MakeAuthenticator(core.principals);
  deps.metrics = &metrics;
  deps.counts_ttl_ms = 0;
  deps.limits = limits;
  deps.log = [this](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.push_back(line);
  };
  return deps;
}

std::string ApiHarness::LogText() {
  std::lock_guard<std::mutex> lock(log_mu);
  std::string all;
  for (const auto& l : log) all += l + "\n";
  return all;
}

HttpServerResponse ApiHarness::Call(const std::string& method, const std::string& target,
                                    const std::string& token, const std::string& body,
                                    const std::map<std::string, std::string>& headers) {
  HttpServerRequest r;
  r.method = method;
  size_t q = target.find('?');
  auto path = PercentDecode(target.substr(0, q));
  BOOST_REQUIRE(path.has_value());
  r.path = *path;
  if (q != std::string::npos) {
    auto query = ParseQuery(target.substr(q + 1));
    BOOST_REQUIRE(query.has_value());
    r.query = *query;
  }
  if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
  if (!body.empty()) r.headers["Content-Type"] = "application/json";
  for (const auto& [k, v] : headers) r.headers[k] = v;
  r.body = body;
  return api->Handle(r);
}

std::string ApiHarness::Submit(const std::string& key, const std::string& text,
                               const std::string& patient) {
  auto r = Call("POST", "/drafts", kAiToken, core::testing::NoteDraft(key, text, patient));
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  auto doc = json::Parse(r.body);
  BOOST_REQUIRE(doc.ok());
  return std::string(json::GetString(*doc, "id").value_or(""));
}

}  // namespace countersign::daemon::testing
