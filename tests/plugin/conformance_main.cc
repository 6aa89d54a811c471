#define BOOST_TEST_MODULE store_conformance
#include <boost/test/unit_test.hpp>
