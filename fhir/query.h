// FHIR search queries as they go into URLs and If-None-Exist: two layers of escaping.
//
// 1. FHIR's own (search.html#escaping): inside a token's system or value, '\', '|', ',' and '$'
//    are escaped with a backslash, so "Acme, Inc." stays one value instead of an OR of two, and a
//    '|' in a value is not read as the system separator (Identifier::Token, TokenParam).
// 2. RFC 3986: every parameter name and value is percent-encoded (UTF-8 bytes), so spaces, '&',
//    '+', '#', '%', '|', ',' and non-ASCII reach the server as the same characters, and '=' and
//    '&' between parameters stay structural. Servers decode If-None-Exist and a Bundle entry's
//    ifNoneExist as a URL query too, so the same encoded form is used there.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/resource.h"

namespace countersign::fhir {

// One search parameter: name (with modifier, e.g. "identifier:of-type") and its value as FHIR
// reads it (with layer-1 escapes already in place where the value is a token).
struct SearchParam {
  std::string name;
  std::string value;
};
using SearchParams = std::vector<SearchParam>;

// RFC 3986 percent-encoding of one query component: every byte except unreserved characters
// (ALPHA DIGIT - . _ ~) and ':' '/' '@' (kept readable; they mean nothing special in a query).
std::string PercentEncode(std::string_view text);
// "%XX" -> byte; '+' stays '+' (RFC 3986, not HTML forms); a '%' not followed by two hex digits
// stays as it is.
std::string PercentDecode(std::string_view text);

// "name=value&name=value", each part percent-encoded.
std::string EncodeQuery(const SearchParams& params);
// The parameters of a query string: split on '&', then on the first '=', each part decoded.
SearchParams ParseQuery(std::string_view query);
// A query in canonical encoded form: ParseQuery then EncodeQuery. Leaves an encoded query as it
// is, and repairs one written without encoding where that is unambiguous (spaces, '|', non-ASCII,
// a stray '%'); a raw '&' inside a value cannot be told from a separator: build queries with
// EncodeQuery instead.
std::string NormalizeQuery(std::string_view query);

// "system|value" with FHIR's backslash escapes in both parts (Identifier::Token).
std::string TokenParam(std::string_view system, std::string_view value);
// "identifier=<encoded token>": the conditional-create / lookup condition for one identifier.
std::string IdentifierCondition(const Identifier& identifier);

}  // namespace countersign::fhir
