#include "fhir/query.h"

namespace countersign::fhir {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || c == ':' || c == '/' || c == '@') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string EncodeQuery(const SearchParams& params) {
  std::string out;
  for (const SearchParam& p : params) {
    if (!out.empty()) out += '&';
    out += PercentEncode(p.name);
    out += '=';
    out += PercentEncode(p.value);
  }
  return out;
}

SearchParams ParseQuery(std::string_view query) {
  SearchParams out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    SearchParam p;
    p.name = PercentDecode(part.substr(0, eq));
    if (eq != std::string_view::npos) p.value = PercentDecode(part.substr(eq + 1));
    out.push_back(std::move(p));
  }
  return out;
}

std::string NormalizeQuery(std::string_view query) { return EncodeQuery(ParseQuery(query)); }

std::string TokenParam(std::string_view system, std::string_view value) {
  return Identifier{std::string(system), std::string(value)}.Token();
}

std::string IdentifierCondition(const Identifier& identifier) {
  return EncodeQuery({{"identifier", identifier.Token()}});
}

}  // namespace countersign::fhir
