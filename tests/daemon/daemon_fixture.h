// Test support for the REST daemon: an Api over a real SQLite store (CoreHarness: the fake mapper,
// the sample configuration), bearer tokens for the sample principals, and a captured log.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plugin/daemon/api.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::daemon::testing {

// Tokens of the sample principals (fixtures/config/principals.json).
inline constexpr const char* kAiToken = "tok-ai-3f9a1c7e5b2d4a60";
inline constexpr const char* kAdaToken = "tok-ada-8c2e4b6a1f3d5e70";   // clinician
inline constexpr const char* kGraceToken = "tok-grace-0b1d3f5a7c9e2b40";  // clinician
inline constexpr const char* kSamToken = "tok-sam-6e4c2a0f8d6b4a20";   // front desk
inline constexpr const char* kKimToken = "tok-kim-9a7b5c3d1e0f2a10";   // admin

// Token -> principal through SHA-256 hashes only, like the config's hashed tokens.
Authenticator MakeAuthenticator(const core::PrincipalDirectory& principals);

struct ApiHarness {
  explicit ApiHarness(ApiLimits limits = {});

  core::testing::CoreHarness core;
  Metrics metrics;
  std::unique_ptr<Api> api;
  std::mutex log_mu;
  std::vector<std::string> log;

  std::string LogText();
  ApiDeps Deps(ApiLimits limits);

  HttpServerResponse Call(const std::string& method, const std::string& target,
                          const std::string& token = {}, const std::string& body = {},
                          const std::map<std::string, std::string>& headers = {});
  // POST /drafts as the AI with a note draft; requires 201; returns the proposal id.
  std::string Submit(const std::string& key, const std::string& text = "Patient is well.",
                     const std::string& patient = "Patient/p1");
};

}  // namespace countersign::daemon::testing
