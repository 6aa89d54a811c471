#define BOOST_TEST_MODULE fhir_client
#include <boost/test/unit_test.hpp>
