// Edits to the pending Bundle's Provenance when people act on it (AI Transparency on FHIR):
// an approval adds the human verifier with their role and the time; an amendment adds the
// reviewer as author of the revision and an entity (role "revision") naming what was revised.
#pragma once

#include <cstdint>
#include <string>

#include "fhir/json.h"
#include "fhir/status.h"
#include "plugin/core/principals.h"

namespace countersign::core {

inline constexpr const char* kParticipantTypeSystem =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
inline constexpr const char* kRevisionIdentifierSystem = "urn:countersign:proposal-revision";

// The Provenance resource inside a Bundle's entries; nullptr when there is none.
json::Value* FindProvenance(json::Document& bundle);

// Adds agent {type verifier, role [{text: role}], who {reference, display}} and sets recorded to
// `at` (keeping the AI's original time as occurredPeriod.start). kInvalid without a Provenance.
Status AddVerifier(json::Document& bundle, const Principal& who, const std::string& role,
                   int64_t at);

// Adds agent {type author, who} and entity {role revision, what: identifier
// <proposal_id>/<revised_revision>} (what the reviewer revised).
Status AddRevisionAuthor(json::Document& bundle, const Principal& who, const std::string& role,
                         const std::string& proposal_id, int64_t revised_revision);

}  // namespace countersign::core
