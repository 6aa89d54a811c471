#include "fhir/reference.h"

#include <openssl/rand.h>

#include <array>
#include <random>
#include <vector>

namespace countersign::fhir {
namespace {

constexpr std::string_view kUuidPrefix = "urn:uuid:";
constexpr std::string_view kHistory = "_history";

// ASCII-only classes: FHIR's grammar is ASCII, and <cctype> would follow the process locale.
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsUpper(c) || (c >= 'a' && c <= 'z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char Lower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

// 8-4-4-4-12 hex digits, either case (RFC 4122 says input is case-insensitive).
bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !IsHex(text[i])) {
      return false;
    }
  }
  return true;
}

Status Invalid(std::string_view text, std::string_view why) {
  return Status::Invalid("invalid reference \"" + std::string(text) + "\": " + std::string(why));
}

// Fills type/id/version from the trailing "Type/id[/_history/v]" segments of a path; the
// segments before them (if any) are left for the caller as the base.
Status ParseTail(std::string_view text, const std::vector<std::string_view>& segments,
                 size_t tail_start, Reference& ref) {
  size_t count = segments.size() - tail_start;
  if (count == 4 && segments[tail_start + 2] != kHistory) {
    return Invalid(text, "expected Type/id or Type/id/_history/version");
  }
  if (count != 2 && count != 4) {
    return Invalid(text, "expected Type/id or Type/id/_history/version");
  }
  std::string_view type = segments[tail_start];
  std::string_view id = segments[tail_start + 1];
  if (!IsValidResourceType(type)) {
    return Invalid(text, "\"" + std::string(type) + "\" is not a resource type name");
  }
  if (!IsValidId(id)) return Invalid(text, "\"" + std::string(id) + "\" is not a valid id");
  ref.type = type;
  ref.id = id;
  if (count == 4) {
    std::string_view version = segments[tail_start + 3];
    if (!IsValidId(version)) {
      return Invalid(text, "\"" + std::string(version) + "\" is not a valid version id");
    }
    ref.version_id = version;
  }
  return Status::Ok();
}

Result<Reference> ParseUuid(std::string_view text) {
  std::string_view uuid = text.substr(kUuidPrefix.size());
  if (!IsUuid(uuid)) return Invalid(text, "urn:uuid must be followed by a UUID");
  Reference ref;
  ref.is_uuid = true;
  // Kept as given so ToString() round-trips; comparisons of placeholders must ignore case.
  ref.id = uuid;
  return ref;
}

Result<Reference> ParseAbsolute(std::string_view text, size_t scheme_length) {
  if (text.find_first_of("?#") != std::string_view::npos) {
    return Invalid(text, "query and fragment are not allowed");
  }
  std::vector<std::string_view> segments = Split(text.substr(scheme_length), '/');
  if (segments.front().empty()) return Invalid(text, "missing host");
  // host + Type + id at least; a history tail needs two more.
  bool versioned = segments.size() >= 5 && segments[segments.size() - 2] == kHistory;
  size_t tail = versioned ? 4 : 2;
  if (segments.size() < 1 + tail) return Invalid(text, "expected base/Type/id");
  Reference ref;
  CS_RETURN_IF_ERROR(ParseTail(text, segments, segments.size() - tail, ref));
  size_t base_length = scheme_length;
  for (size_t i = 0; i + tail < segments.size(); ++i) base_length += segments[i].size() + 1;
  ref.base = text.substr(0, base_length - 1);  // without the '/' before Type
  return ref;
}

Result<Reference> ParseRelative(std::string_view text) {
  if (text.front() == '/') return Invalid(text, "must not start with '/'");
  if (text.find_first_of("?#:") != std::string_view::npos) {
    return Invalid(text, "unsupported reference form");
  }
  std::vector<std::string_view> segments = Split(text, '/');
  Reference ref;
  CS_RETURN_IF_ERROR(ParseTail(text, segments, 0, ref));
  return ref;
}

void RandomBytes(std::array<unsigned char, 16>& bytes) {
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1) return;
  // OpenSSL's generator failed to seed (should not happen on Linux); the kernel's generator
  // behind std::random_device is still a CSPRNG, so placeholders stay unguessable.
  std::random_device device;
  for (auto& b : bytes) b = static_cast<unsigned char>(device());
}

}  // namespace

Result<Reference> Reference::Parse(std::string_view text) {
  if (text.empty()) return Status::Invalid("invalid reference: empty");
  if (text.front() == '#') return Invalid(text, "contained references are not supported");
  if (text.back() == '/') return Invalid(text, "must not end with '/'");
  if (StartsWithNoCase(text, kUuidPrefix)) return ParseUuid(text);
  if (StartsWithNoCase(text, "https://")) return ParseAbsolute(text, 8);
  if (StartsWithNoCase(text, "http://")) return ParseAbsolute(text, 7);
  if (StartsWithNoCase(text, "urn:"))
    return Invalid(text, "only urn:uuid placeholders are supported");
  return ParseRelative(text);
}

std::string Reference::Relative() const {
  if (is_uuid) return std::string(kUuidPrefix) + id;
  return type + "/" + id;
}

std::string Reference::Versioned() const {
  if (is_uuid || version_id.empty()) return Relative();
  return Relative() + "/" + std::string(kHistory) + "/" + version_id;
}

std::string Reference::ToString() const {
  if (base.empty()) return Versioned();
  return base + "/" + Versioned();
}

namespace {

std::string FormatUuid(const std::array<unsigned char, 16>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string NewUuid() {
  std::array<unsigned char, 16> bytes;
  RandomBytes(bytes);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return FormatUuid(bytes);
}

std::string NewTimeOrderedUuid(int64_t unix_ms) {
  std::array<unsigned char, 16> bytes;
  RandomBytes(bytes);
  const auto ms = static_cast<uint64_t>(unix_ms) & 0xffffffffffffULL;  // 48 bits: until 10889
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x70);  // version 7
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 9562 variant
  return FormatUuid(bytes);
}

std::string NewUuidUrn() { return std::string(kUuidPrefix) + NewUuid(); }

bool IsValidResourceType(std::string_view type) {
  if (type.empty() || type.size() > 64) return false;
  if (!IsUpper(type.front())) return false;
  for (char c : type) {
    if (!IsAlpha(c)) return false;
  }
  return true;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '.') return false;
  }
  return true;
}

bool SameReferenceText(std::string_view a, std::string_view b) {
  if (StartsWithNoCase(a, kUuidPrefix) && StartsWithNoCase(b, kUuidPrefix)) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (Lower(a[i]) != Lower(b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace countersign::fhir
