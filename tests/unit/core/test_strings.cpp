#include <gtest/gtest.h>

#include "core/strings.h"

TEST(Strings, EditDistanceTable) {
  struct Case { const char* a; const char* b; size_t d; };
  for (const Case& c : {Case{"", "", 0}, Case{"abc", "abc", 0}, Case{"kitten", "sitting", 3},
                        Case{"lr", "lrr", 1}, Case{"", "abc", 3}})
    EXPECT_EQ(fw::edit_distance(c.a, c.b), c.d) << c.a << " vs " << c.b;
}

TEST(Strings, ClosestMatchSuggestsTyposOnly) {
  std::vector<std::string> keys = {"learning_rate", "weight_decay", "warmup_steps"};
  EXPECT_EQ(fw::closest_match("learning_rat", keys), "learning_rate");
  EXPECT_EQ(fw::closest_match("wieght_decay", keys), "weight_decay");
  EXPECT_EQ(fw::closest_match("xyz", keys), "");
}

TEST(Strings, SplitAndJoinRoundTrip) {
  auto parts = fw::split("a.b..c", '.');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(fw::join(parts, "."), "a.b..c");
}
