// Principals: who may act, with which roles, from deployment configuration. The REST surface and
// the CLI authenticate a caller and hand the coordinator the matching Principal; the coordinator
// then trusts only the directory's copy (roles are never taken from a request).
//
// Config JSON: {"principals": [{"id": "Practitioner/123", "display": "Dr. Ada", "roles":
// ["clinician"], "queues": ["clinical-review"]}, {"id": "Device/scribe", "roles": ["ai-agent"]}]}
// "queues" (optional): the review queues this person works, i.e. owners "queue:<name>" that are
// theirs when the approval policy lets people decide only what they own.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::core {

namespace role {
inline constexpr const char* kAiAgent = "ai-agent";
inline constexpr const char* kClinician = "clinician";
inline constexpr const char* kFrontDesk = "front-desk";
inline constexpr const char* kAdmin = "admin";
}  // namespace role

struct Principal {
  std::string id;       // a FHIR reference: "Practitioner/123", "Device/scribe"
  std::string display;  // for people; may be empty
  std::vector<std::string> roles;
  std::vector<std::string> queues;  // queue names, without "queue:"

  // True when owner is this principal, or "queue:<name>" of one of its queues.
  bool Owns(std::string_view owner) const;
  bool HasRole(std::string_view role) const;
  bool IsAiAgent() const { return HasRole(role::kAiAgent); }
  // The first of `roles` this principal holds; empty when none.
  std::string FirstRoleIn(const std::vector<std::string>& roles) const;
};

class PrincipalDirectory {
 public:
  // kInvalid naming the JSON path of the first problem: a bad or duplicate id, no roles, or an
  // ai-agent that also holds another role (an AI principal can never be a reviewer).
  static Result<PrincipalDirectory> Parse(std::string_view json_text);
  static Result<PrincipalDirectory> LoadFile(const std::string& path);

  // nullptr when unknown.
  const Principal* Find(std::string_view id) const;
  size_t size() const { return by_id_.size(); }

 private:
  std::map<std::string, Principal, std::less<>> by_id_;
};

// Reads a whole regular file of at most 16 MiB (kIoError naming the path when it cannot).
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace countersign::core
