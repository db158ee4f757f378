// The fast battle reader for Elo reads exactly what read_battles reads (the fields Elo
// keeps, as columns) on lines its scanner takes and on lines it hands to the full parser
// (escapes, non-ASCII text, integer ids, games, nested extras, blank and \r-terminated
// lines), for any thread count, from a file or a pipe; and it fails on exactly the lines
// read_battles fails on, with the same message and file:line, the first bad line winning.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "arena/elo_input.h"
#include "core/error.h"
#include "tests/support/test_tmp.h"

namespace {
using namespace fw::arena;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = fw::testing::tmp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const char* kGood =
    R"({"question_id": "q1", "model_a": "a", "model_b": "b", "winner": "model_a", "judge": "j", "category": "math", "tstamp": 1682351591.125})"
    "\n"
    R"J({"model_a":"b","model_b":"c","winner":"tie (bothbad)","games":[{"order":"ba","score_a":3,"score_b":null,"judgment":"x \"quoted\" \n y"},{}],"extra":{"nested":[1,2.5e3,-0,true,false,null,{"k":"v"}]}})J"
    "\n"
    "   \n"
    R"({"question_id": 81, "model_a": "c", "model_b": "a", "winner": "model_b"})"  // integer id: full parser
    "\r\n"
    R"({"model_a": "d\u00e9j\u00e0", "model_b": "a", "winner": "tie", "category": null, "tstamp": "later"})"
    "\n"
    R"({"model_a": "b", "model_b": "caf)" "\xc3\xa9" R"(", "winner": "model_b", "judge": "h\/i"})"  // UTF-8: full parser
    "\n"
    R"(  {"winner": "model_a", "model_b": "a", "model_a": "c", "games": null, "question_id": null}  )"
    "\n"
    R"({"model_a": "a", "model_b": "b", "winner": "model_a", "games": [{"order": "", "judgment": 7}]})";  // no final newline

void expect_same(const EloBattles& fast, const std::vector<Battle>& full) {
  const EloBattles want = to_elo_battles(full);
  EXPECT_EQ(fast.models, want.models);
  EXPECT_EQ(fast.categories, want.categories);
  EXPECT_EQ(fast.model_a, want.model_a);
  EXPECT_EQ(fast.model_b, want.model_b);
  EXPECT_EQ(fast.winner, want.winner);
  EXPECT_EQ(fast.category, want.category);
}

TEST(EloInput, ReadsWhatReadBattlesReads) {
  const std::string path = write_file("good.jsonl", kGood);
  const auto full = read_battles(path);
  ASSERT_EQ(full.size(), 7u);
  for (int threads : {1, 2, 5}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    expect_same(read_elo_battles(path, threads), full);
  }
  const EloBattles fast = read_elo_battles(path, 1);
  ASSERT_EQ(fast.size(), 7u);
  EXPECT_EQ(fast.models, (std::vector<std::string>{"a", "b", "c", "caf\xc3\xa9", "d\xc3\xa9j\xc3\xa0"}));
  EXPECT_EQ(fast.models[fast.model_a[3]], "d\xc3\xa9j\xc3\xa0");  // \u escapes: the full parser
  EXPECT_EQ(fast.categories, std::vector<std::string>{"math"});
  EXPECT_EQ(fast.category[0], 0);
  EXPECT_EQ(fast.category[3], -1);  // "category": null
  EXPECT_EQ(fast.winner[1], Winner::TieBothBad);
}

TEST(EloInput, EscapedNamesAreDecoded) {
  const std::string path = write_file(
      "escaped.jsonl", R"({"model_a": "a\"b", "model_b": "c\\d", "winner": "model_a", "category": "x\/y"})"
                       "\n" R"({"model_a": "c\\d", "model_b": "a\"b", "winner": "tie"})" "\n");
  const EloBattles b = read_elo_battles(path, 1);
  EXPECT_EQ(b.models, (std::vector<std::string>{"a\"b", "c\\d"}));
  EXPECT_EQ(b.categories, std::vector<std::string>{"x/y"});
  expect_same(b, read_battles(path));
}

TEST(EloInput, ManyLinesAcrossChunksKeepTheirOrder) {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += R"({"question_id": "q)" + std::to_string(i) + R"(", "model_a": "m)" + std::to_string(i % 7) +
            R"(", "model_b": "n", "winner": ")" + (i % 3 ? "model_a" : "tie") + "\"" +
            (i > 15000 ? R"(, "category": "late")" : "") + "}\n";
  const std::string path = write_file("many.jsonl", text);
  const auto full = read_battles(path);
  for (int threads : {1, 3, 8}) expect_same(read_elo_battles(path, threads), full);
}

TEST(EloInput, FailsOnTheSameLineWithTheSameMessage) {
  const std::string ok = R"({"model_a": "a", "model_b": "b", "winner": "model_a"})";
  const std::string bad_lines[] = {
      R"({"model_a": "a", "model_b": "b", "winner": "model_c"})",
      R"({"model_a": "a", "winner": "tie"})",
      R"({"model_a": "a", "model_b": "a", "winner": "tie"})",
      R"({"model_a": "", "model_b": "a", "winner": "tie"})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "games": [{"order": "ac"}]})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "games": [{"score_a": "9"}]})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "games": {}})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "category": 1.5})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "x": [1,]})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie"} trailing)",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "n": 01})",
      R"(["model_a", "model_b"])",
      R"({"model_a": "a\x", "model_b": "b", "winner": "tie"})",
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": 1e999})",  // overflows a double
      R"({"model_a": "a", "model_b": "b", "winner": "tie", "x": [-2.5E+400]})",
  };
  for (const std::string& bad : bad_lines) {
    SCOPED_TRACE(bad);
    // Line 4 is bad; a second bad line later must not be the one reported.
    std::string text;
    for (int i = 0; i < 3000; ++i) text += (i == 3 || i == 2500 ? bad : ok) + "\n";
    const std::string path = write_file("bad.jsonl", text);
    std::string want;
    try {
      read_battles(path);
      ADD_FAILURE() << "read_battles accepted it";
    } catch (const fw::Error& e) {
      want = e.what();
      EXPECT_EQ(e.context().line, 4);
    }
    for (int threads : {1, 4}) {
      try {
        read_elo_battles(path, threads);
        ADD_FAILURE() << "accepted with " << threads << " threads";
      } catch (const fw::Error& e) {
        EXPECT_EQ(std::string(e.what()), want);
      }
    }
  }
}

TEST(EloInput, ReadsAPipe) {  // not a regular file: read, not mapped
  const std::string path = fw::testing::tmp_dir() + "/battles.fifo";
  ::unlink(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(path) << kGood; });
  const EloBattles b = read_elo_battles(path, 2);
  writer.join();
  expect_same(b, read_battles(write_file("pipe-copy.jsonl", kGood)));
  EXPECT_EQ(b.size(), 7u);
}

TEST(EloInput, FastChatArraysGoToReadBattles) {
  const std::string path = write_file("fc.json", R"( [{"model_a": "x", "model_b": "y", "winner": "tie"}])");
  const EloBattles b = read_elo_battles(path);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.winner[0], Winner::Tie);
  EXPECT_EQ(b.models, (std::vector<std::string>{"x", "y"}));
}

}  // namespace
