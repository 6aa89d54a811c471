// FHIR references: relative ("Patient/123"), versioned ("Patient/123/_history/2"), absolute
// ("https://x/fhir/R4/Patient/123"), and placeholders ("urn:uuid:..."), parsed into parts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/status.h"

namespace countersign::fhir {

struct Reference {
  std::string base;        // "https://x/fhir/R4" for absolute references; empty when relative
  std::string type;        // "Patient"; empty for urn:uuid
  std::string id;          // "123"; the UUID for urn:uuid
  std::string version_id;  // "2" when /_history/2 was given
  bool is_uuid = false;    // urn:uuid:... placeholder (prefix matched case-insensitively; the
                           // UUID is kept as given, so compare with SameReferenceText)

  // Parses any of the forms above. kInvalid for anything else (empty, bad type name, bad id
  // characters per FHIR's id rules [A-Za-z0-9\-\.]{1,64}, urn:oid, fragments "#x").
  static Result<Reference> Parse(std::string_view text);

  // "Type/id" (or "urn:uuid:x"), without base or version.
  std::string Relative() const;
  // "Type/id/_history/v" when a version is known, else Relative().
  std::string Versioned() const;
  // Full text as parsed form would print it back (base + Versioned()).
  std::string ToString() const;
  bool operator==(const Reference&) const = default;
};

// A fresh RFC 4122 version-4 UUID in lowercase, from a CSPRNG ("1b4e28ba-2fa1-11d2-883f-...").
std::string NewUuid();
// "urn:uuid:" + NewUuid().
std::string NewUuidUrn();
// A version-7 UUID (RFC 9562): the 48-bit Unix time in milliseconds unix_ms, then 74 random bits
// from the CSPRNG, lowercase. Ids made later sort after ids made earlier (within one millisecond
// in any order), so a B-tree keyed by them grows at its right edge: the proposals' id indexes
// then share their pages between the submissions of one group commit instead of touching a
// random page each (~15% more submissions/s, bench/submit_bench). The time is not secret: the
// proposal's created_at shows it too.
std::string NewTimeOrderedUuid(int64_t unix_ms);

// True for a syntactically valid FHIR resource type name (Capitalised letters only) and id.
bool IsValidResourceType(std::string_view type);
bool IsValidId(std::string_view id);

// True when two Reference.reference strings point at the same thing as text: an exact match,
// except that "urn:uuid:" placeholders compare case-insensitively (RFC 4122 UUIDs are
// case-insensitive on input, and drafts may spell them in upper case).
bool SameReferenceText(std::string_view a, std::string_view b);

}  // namespace countersign::fhir
