#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "launch/line_prefixer.h"

using fw::launch::LinePrefixer;

namespace {

// Feeds `chunks` in order and returns everything produced, finish() included.
std::string run(const std::vector<std::string>& chunks, size_t max_line = 1024) {
  LinePrefixer p("[r]: ", max_line);
  std::string out;
  for (const auto& c : chunks) out += p.feed(c);
  return out + p.finish();
}

}  // namespace

TEST(LinePrefixer, Table) {
  struct Case {
    const char* name;
    std::vector<std::string> chunks;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"empty", {}, ""},
      {"one line", {"hello\n"}, "[r]: hello\n"},
      {"two lines in one chunk", {"a\nb\n"}, "[r]: a\n[r]: b\n"},
      {"line split across chunks", {"hel", "lo", "\n"}, "[r]: hello\n"},
      {"partial last line is flushed at exit", {"a\nno newline"}, "[r]: a\n[r]: no newline\n"},
      {"blank lines are kept", {"a\n\nb\n"}, "[r]: a\n[r]: \n[r]: b\n"},
      {"CR ends a line", {"10%\r20%\r30%\n"}, "[r]: 10%\n[r]: 20%\n[r]: 30%\n"},
      {"CR at line start adds nothing", {"\r10%\r20%"}, "[r]: 10%\n[r]: 20%\n"},
      {"CRLF is one line end", {"a\r\nb\r\n"}, "[r]: a\n[r]: b\n"},
      {"CRLF split across chunks", {"a\r", "\nb\n"}, "[r]: a\n[r]: b\n"},
      {"CRLF blank line", {"a\r\n\r\nb\r\n"}, "[r]: a\n[r]: \n[r]: b\n"},
      {"bytes pass through", {std::string("x\0y\t\xff\n", 6)}, std::string("[r]: x\0y\t\xff\n", 11)},
  };
  for (const Case& c : cases) EXPECT_EQ(run(c.chunks), c.want) << c.name;
}

TEST(LinePrefixer, OnlyCompleteLinesComeOutBeforeFinish) {
  LinePrefixer p("[rank0]: ");
  EXPECT_EQ(p.feed("abc"), "");
  EXPECT_TRUE(p.has_partial());
  EXPECT_EQ(p.feed("def\ngh"), "[rank0]: abcdef\n");
  EXPECT_EQ(p.finish(), "[rank0]: gh\n");
  EXPECT_FALSE(p.has_partial());
  EXPECT_EQ(p.finish(), "");
}

TEST(LinePrefixer, LongLinesAreSplitAtTheLimit) {
  EXPECT_EQ(run({"abcdefg\n"}, 3), "[r]: abc\n[r]: def\n[r]: g\n");
  // A split right before the newline does not add an empty line.
  EXPECT_EQ(run({"abcdef\n"}, 3), "[r]: abc\n[r]: def\n");
  EXPECT_EQ(run({"abc\r\n"}, 3), "[r]: abc\n");
}

TEST(LinePrefixer, InterleavedRanksNeverMixWithinALine) {
  // What the launcher does with two ranks whose writes arrive interleaved mid-line: each
  // rank has its own prefixer and only whole lines reach the shared stdout.
  LinePrefixer r0(fw::launch::rank_prefix(0)), r1(fw::launch::rank_prefix(1));
  std::string out;
  out += r0.feed("step 1 lo");
  out += r1.feed("step 1 l");
  out += r1.feed("oss 2.5\nstep 2");
  out += r0.feed("ss 2.4\r");
  out += r0.feed("\nstep 2 loss 2.3\n");
  out += r1.feed(" loss 2.2");
  out += r0.finish();
  out += r1.finish();
  EXPECT_EQ(out,
            "[rank1]: step 1 loss 2.5\n"
            "[rank0]: step 1 loss 2.4\n"
            "[rank0]: step 2 loss 2.3\n"
            "[rank1]: step 2 loss 2.2\n");
}

TEST(LinePrefixer, RankPrefix) {
  EXPECT_EQ(fw::launch::rank_prefix(0), "[rank0]: ");
  EXPECT_EQ(fw::launch::rank_prefix(17), "[rank17]: ");
}
