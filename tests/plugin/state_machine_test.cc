#include "plugin/core/state_machine.h"

#include <boost/test/unit_test.hpp>

namespace countersign::core {
namespace {

using S = ProposalStatus;

BOOST_AUTO_TEST_SUITE(state_machine)

BOOST_AUTO_TEST_CASE(exactly_the_documented_transitions_are_legal) {
  const std::vector<std::pair<S, S>> legal = {
      {S::kPending, S::kApproved},     {S::kPending, S::kRejected},    {S::kPending, S::kExpired},
      {S::kApproved, S::kCommitting},  {S::kCommitting, S::kCommitted},
      {S::kCommitting, S::kConflict},  {S::kCommitting, S::kFailed},   {S::kConflict, S::kPending},
      {S::kConflict, S::kRejected},    {S::kFailed, S::kApproved}};
  int refused = 0;
  for (S from : AllStatuses()) {
    for (S to : AllStatuses()) {
      bool expected = std::find(legal.begin(), legal.end(), std::make_pair(from, to)) != legal.end();
      BOOST_TEST_CONTEXT(from << " -> " << to) {
        BOOST_TEST(IsLegalTransition(from, to) == expected);
        Status s = CheckTransition(from, to);
        BOOST_TEST(s.ok() == expected);
        if (!expected) {
          BOOST_TEST(s.IsIllegalState());
          BOOST_TEST(s.message().find(StatusName(from)) != std::string::npos);
          ++refused;
        }
      }
    }
  }
  BOOST_TEST(refused == 54);
}

BOOST_AUTO_TEST_CASE(no_self_transitions) {
  for (S s : AllStatuses()) BOOST_TEST(!IsLegalTransition(s, s));
}

BOOST_AUTO_TEST_CASE(final_states) {
  BOOST_TEST(IsFinal(S::kCommitted));
  BOOST_TEST(IsFinal(S::kRejected));
  BOOST_TEST(IsFinal(S::kExpired));
  BOOST_TEST(!IsFinal(S::kPending));
  BOOST_TEST(!IsFinal(S::kApproved));
  BOOST_TEST(!IsFinal(S::kCommitting));
  BOOST_TEST(!IsFinal(S::kConflict));
  BOOST_TEST(!IsFinal(S::kFailed));  // a person may retry it (Coordinator::RetryCommit)
}

BOOST_AUTO_TEST_CASE(status_names_round_trip) {
  for (S s : AllStatuses()) BOOST_TEST((ParseStatus(StatusName(s)) == s));
  BOOST_TEST(!ParseStatus("Pending").has_value());
  BOOST_TEST(!ParseStatus("").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
