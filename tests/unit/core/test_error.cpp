#include <gtest/gtest.h>

#include "core/error.h"

namespace {

TEST(Error, MessageNamesFileLineKeyAndHint) {
  fw::Error e(fw::ErrorKind::InvalidInput, "must be positive",
              {.file = "r.yaml", .line = 3, .column = 5, .key = "optim.lr", .hint = "try 1e-5"});
  EXPECT_STREQ(e.what(), "r.yaml:3:5: optim.lr: must be positive (hint: try 1e-5)");
  EXPECT_EQ(fw::exit_code(e), 2);
}

TEST(Error, RuntimeErrorsExitWithOne) {
  try {
    fw::throw_runtime("disk full", {.file = "out.bin"});
  } catch (const fw::Error& e) {
    EXPECT_EQ(fw::exit_code(e), 1);
    EXPECT_STREQ(e.what(), "out.bin: disk full");
    return;
  }
  FAIL() << "no exception";
}

}  // namespace
