// How the commit executor recognises its own writes on the server, after a lost answer, a crash
// or a conflict answer: only by what THIS proposal wrote, never by what earlier writes share.
//
// Every mapped resource carries a Countersign identifier (urn:countersign:proposal-entry) whose
// value is "<proposal id>/<entry>", its marker. An update keeps the identifiers of the version
// it changes, so after two proposals have updated one Appointment it carries both markers, the
// first one first: a resource "carries our marker" only when that exact value is among them.
// The version this proposal wrote is the oldest version carrying its marker (someone may have
// changed the resource since, keeping the marker); without a marker (a Bundle from elsewhere),
// the oldest version with exactly the content it wrote.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"

namespace countersign::commit {

// The pending resource's own marker: its Countersign identifier value that starts with
// "<proposal_id>/"; nullopt when it carries none.
std::optional<std::string> OwnMarker(const json::Value& pending, std::string_view proposal_id);

// True when resource (a version on the server) is this write's: it carries marker, or, when there
// is no marker, its content (everything but id and meta) equals pending's.
bool IsOwnWrite(const json::Value& resource, const json::Value& pending,
                const std::optional<std::string>& marker);

// True when resource's content (everything but id and meta) equals pending's.
bool SameContent(const json::Value& resource, const json::Value& pending);

// Among a resource's versions (a history, newest first as FHIR orders it), the oldest that is
// this write's (IsOwnWrite); nullptr when none is.
const json::Value* OldestOwnVersion(const std::vector<json::Document>& history,
                                    const json::Value& pending,
                                    const std::optional<std::string>& marker);

// The condition a create is sent with, in canonical encoded form (fhir/query.h). A condition
// stored without FHIR escapes or percent-encoding ("identifier=system|value" naming one of the
// resource's own identifiers verbatim, as mapped Bundles held before) is rebuilt from that
// identifier, so a value with ',' '&' '+' or spaces still finds exactly that identifier.
std::string CreateCondition(std::string_view stored, const json::Value& resource);

}  // namespace countersign::commit
