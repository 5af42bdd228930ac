#include "mlforge/error.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

TEST(Error, TypesDeriveFromStandardExceptions) {
  EXPECT_THROW(throw mlforge::InvalidArgument("x"), std::invalid_argument);
  EXPECT_THROW(throw mlforge::OutOfRange("x"), std::out_of_range);
  EXPECT_THROW(throw mlforge::Timeout("x"), std::runtime_error);
  EXPECT_THROW(throw mlforge::Unavailable("x"), std::runtime_error);
  EXPECT_THROW(throw mlforge::CapacityExceeded("x"), std::runtime_error);
  EXPECT_THROW(throw mlforge::CorruptData("x"), std::runtime_error);
}

TEST(Error, CheckMacroThrowsTypedErrorWithStreamedMessage) {
  const int n = -3;
  try {
    MLFORGE_CHECK(n >= 0, InvalidArgument, "[demo.op] n must be >= 0, got ", n);
    FAIL() << "MLFORGE_CHECK did not throw";
  } catch (const mlforge::InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "[demo.op] n must be >= 0, got -3");
  }
}

TEST(Error, CheckMacroPassesWhenConditionHolds) {
  EXPECT_NO_THROW(MLFORGE_CHECK(1 + 1 == 2, OutOfRange, "unreachable"));
}

}  // namespace
