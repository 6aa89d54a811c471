// Structural checks of FHIR R4 resources as the mapping engine emits them: required elements,
// required code bindings and the invariants a server's validator enforces (e.g. Appointment
// app-2/app-3). Not a FHIR validator: Medplum's runs over the same outputs in
// mapped_resources_valid_test; these checks keep the unit suite honest without node.
#pragma once

#include <string>
#include <vector>

#include "fhir/json.h"

namespace countersign::mappings::testing {

// Problems found in resource ("Appointment.participant[0].status: required"); empty when none.
std::vector<std::string> CheckR4(const json::Value& resource);

}  // namespace countersign::mappings::testing
