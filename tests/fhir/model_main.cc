#define BOOST_TEST_MODULE fhir_model
#include <boost/test/unit_test.hpp>
