// The fast battle reader for Elo reads exactly what read_battles reads (the fields Elo
// keeps) on lines its scanner takes and on lines it hands to the full parser (escapes,
// non-ASCII text, integer ids, games, nested extras, blank and \r-terminated lines), for
// any thread count; and it fails on exactly the lines read_battles fails on, with the
// same message and file:line, the first bad line of the file winning.
#include <gtest/gtest.h>

#include <fstream>

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

void expect_same(const std::vector<Battle>& fast, const std::vector<Battle>& full) {
  ASSERT_EQ(fast.size(), full.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    SCOPED_TRACE("battle " + std::to_string(i));
    EXPECT_EQ(fast[i].question_id, full[i].question_id);
    EXPECT_EQ(fast[i].model_a, full[i].model_a);
    EXPECT_EQ(fast[i].model_b, full[i].model_b);
    EXPECT_EQ(fast[i].winner, full[i].winner);
    EXPECT_EQ(fast[i].judge, full[i].judge);
    EXPECT_EQ(fast[i].category, full[i].category);
    EXPECT_EQ(fast[i].tstamp, full[i].tstamp);
    EXPECT_TRUE(fast[i].games.empty());
  }
}

TEST(EloInput, ReadsWhatReadBattlesReads) {
  const std::string path = write_file("good.jsonl", kGood);
  const auto full = read_battles(path);
  ASSERT_EQ(full.size(), 7u);
  for (int threads : {1, 2, 5}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    expect_same(read_battles_for_elo(path, threads), full);
  }
  const auto fast = read_battles_for_elo(path, 1);
  EXPECT_EQ(fast[0].tstamp, 1682351591.125);
  EXPECT_EQ(fast[3].model_a, "d\xc3\xa9j\xc3\xa0");
  EXPECT_EQ(fast[4].judge, "h/i");
  EXPECT_EQ(fast[2].question_id, "81");
}

TEST(EloInput, ManyLinesAcrossChunksKeepTheirOrder) {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += R"({"question_id": "q)" + std::to_string(i) + R"(", "model_a": "m)" + std::to_string(i % 7) +
            R"(", "model_b": "n", "winner": ")" + (i % 3 ? "model_a" : "tie") + "\"}\n";
  const std::string path = write_file("many.jsonl", text);
  expect_same(read_battles_for_elo(path, 3), read_battles(path));
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
        read_battles_for_elo(path, threads);
        ADD_FAILURE() << "accepted with " << threads << " threads";
      } catch (const fw::Error& e) {
        EXPECT_EQ(std::string(e.what()), want);
      }
    }
  }
}

TEST(EloInput, FastChatArraysGoToReadBattles) {
  const std::string path = write_file("fc.json", R"( [{"model_a": "x", "model_b": "y", "winner": "tie"}])");
  const auto b = read_battles_for_elo(path);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].winner, Winner::Tie);
}

}  // namespace
