#define BOOST_TEST_MODULE countersign_daemon_http
#include <boost/test/unit_test.hpp>
