#define BOOST_TEST_MODULE countersign_daemon
#include <boost/test/unit_test.hpp>
