// Search queries as they go into URLs and If-None-Exist (fhir/query.h): FHIR's token escapes and
// RFC 3986 percent-encoding, on hostile values.
#include <boost/test/unit_test.hpp>

#include "fhir/query.h"

namespace countersign::fhir {
namespace {

BOOST_AUTO_TEST_SUITE(query)

BOOST_AUTO_TEST_CASE(percent_encoding_keeps_only_unreserved_and_readable_separators) {
  BOOST_TEST(PercentEncode("AZaz09-._~:/@") == "AZaz09-._~:/@");
  BOOST_TEST(PercentEncode("Acme Health AI") == "Acme%20Health%20AI");
  BOOST_TEST(PercentEncode("a&b=c+d#e%f,g|h$i\\j?k;l") ==
             "a%26b%3Dc%2Bd%23e%25f%2Cg%7Ch%24i%5Cj%3Fk%3Bl");
  BOOST_TEST(PercentEncode("Clínica Pérez") == "Cl%C3%ADnica%20P%C3%A9rez");
  BOOST_TEST(PercentEncode(std::string("a\0b", 3)) == "a%00b");
  BOOST_TEST(PercentEncode("") == "");
}

BOOST_AUTO_TEST_CASE(decoding_reverses_encoding_and_keeps_plus_and_stray_percent) {
  for (std::string s : {"Clínica Pérez & Söhne, #1 + 50% | x", "%20 literal", "a+b", "100%",
                        "%zz", "%", "%4"}) {
    BOOST_TEST(PercentDecode(PercentEncode(s)) == s);
  }
  BOOST_TEST(PercentDecode("a+b") == "a+b");  // RFC 3986: '+' is a plus, not a space
  BOOST_TEST(PercentDecode("100%") == "100%");
  BOOST_TEST(PercentDecode("%E6%9D%B1%e4%ba%ac") == "東京");
}

BOOST_AUTO_TEST_CASE(token_escapes_come_before_encoding) {
  BOOST_TEST(TokenParam("urn:x", "Acme, Inc.|b$c\\d") == "urn:x|Acme\\, Inc.\\|b\\$c\\\\d");
  Identifier id{"urn:countersign:ai-model", "Clínica Pérez & Acme Health AI, Inc./m+1/2026.10"};
  BOOST_TEST(IdentifierCondition(id) ==
             "identifier=urn:countersign:ai-model%7CCl%C3%ADnica%20P%C3%A9rez%20%26%20Acme%20"
             "Health%20AI%5C%2C%20Inc./m%2B1/2026.10");
}

BOOST_AUTO_TEST_CASE(queries_keep_their_structure) {
  SearchParams params = {{"identifier", TokenParam("urn:x", "a&b=c")}, {"_count", "10"},
                         {"name:contains", "Pérez #1"}};
  std::string q = EncodeQuery(params);
  BOOST_TEST(q == "identifier=urn:x%7Ca%26b%3Dc&_count=10&name:contains=P%C3%A9rez%20%231");
  SearchParams back = ParseQuery(q);
  BOOST_REQUIRE(back.size() == 3u);
  for (size_t i = 0; i < back.size(); ++i) {
    BOOST_TEST(back[i].name == params[i].name);
    BOOST_TEST(back[i].value == params[i].value);
  }
  BOOST_TEST(NormalizeQuery(q) == q);  // idempotent on encoded queries
  BOOST_TEST(ParseQuery("&&a&b=").size() == 2u);
  BOOST_TEST(NormalizeQuery("") == "");
}

BOOST_AUTO_TEST_CASE(a_query_written_without_encoding_is_repaired_where_unambiguous) {
  // What callers used to send: libcurl refuses the space, servers misread '|' and '%'.
  BOOST_TEST(NormalizeQuery("identifier=urn:countersign:ai-model|Acme Health AI/scribe/2026.10") ==
             "identifier=urn:countersign:ai-model%7CAcme%20Health%20AI/scribe/2026.10");
  BOOST_TEST(NormalizeQuery("_tag=urn:x|100% sure") == "_tag=urn:x%7C100%25%20sure");
  BOOST_TEST(NormalizeQuery("identifier=urn:x|Clínica") == "identifier=urn:x%7CCl%C3%ADnica");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
