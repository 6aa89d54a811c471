#define BOOST_TEST_MODULE countersign_daemon_hostile_http
#include <boost/test/unit_test.hpp>
