// How a committed proposal's Provenance names what the commit wrote: version-specific targets
// (Type/id/_history/v), as HL7's AI Transparency guide asks, so the Provenance
// keeps describing the version the clinician approved even after the resource changes again.
//
// Two ways to get there:
// - The Provenance travels in the same transaction as the resources, its targets carrying the
//   resolve-as-version-specific extension (FHIR extensions pack, usable in R4): a server that
//   knows it writes the version it created or updated into the reference. One round trip, and
//   the resources never exist on the server without their Provenance.
// - Otherwise (per-resource writes, or a server that kept the references as sent) the engine
//   pins the targets itself from the versions the server answered.
//
// Pure functions over RapidJSON values; no I/O. Thread-safe.
#pragma once

#include <vector>

#include "fhir/json.h"
#include "plugin/commit/commit_executor.h"
#include "plugin/commit/write_plan.h"

namespace countersign::commit {

inline constexpr const char* kResolveAsVersionSpecific =
    "http://hl7.org/fhir/StructureDefinition/resolve-as-version-specific";

// Sets every target that names one of writes (by placeholder already rewritten to Type/id, or by
// Type/id with or without a version) to that write's committed version, and drops the
// extension from it. Other targets are left as they are.
void PinTargets(json::Value& provenance, const std::vector<WriteRecord>& writes,
                json::Allocator& alloc);

// For every target that one of the transaction's entries writes (a POST by its fullUrl
// placeholder, a PUT by its Type/id): the reference is set to the placeholder or Type/id and
// carries the resolve-as-version-specific extension.
void RequestVersionedTargets(json::Value& provenance, const std::vector<const PlannedWrite*>& sent,
                             json::Allocator& alloc);

// PinTargets for the targets that name no version yet; version-specific ones are left alone.
// For a Provenance found on the server: what the server (or an earlier attempt) pinned is the
// version that was committed, even if the resource has changed since.
void PinUnversionedTargets(json::Value& provenance, const std::vector<WriteRecord>& writes,
                           json::Allocator& alloc);

// True when every target naming one of writes is version-specific (Type/id/_history/v).
bool TargetsVersioned(const json::Value& provenance, const std::vector<WriteRecord>& writes);

}  // namespace countersign::commit
