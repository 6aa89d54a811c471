#define BOOST_TEST_MODULE countersign_core
#include <boost/test/unit_test.hpp>
