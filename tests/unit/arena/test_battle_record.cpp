// Battle records: our JSONL round-trips, FastChat's JSON-array files read, bad records
// name file:line and the key.
#include <gtest/gtest.h>

#include <fstream>

#include "arena/battle_record.h"
#include "core/error.h"
#include "tests/support/test_tmp.h"

namespace {
using namespace fw::arena;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = fw::testing::tmp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(BattleRecord, RoundTripsThroughJsonl) {
  Battle b;
  b.question_id = "q1";
  b.model_a = "alpha";
  b.model_b = "beta";
  b.winner = Winner::ModelB;
  b.judge = "rule";
  b.category = "arithmetic";
  b.games = {{"ab", 3.0, 9.0, "first"}, {"ba", std::nullopt, std::nullopt, "no scores here"}};
  b.tstamp = 12.5;
  b.extra["turn"] = 1;
  const std::string path = write_file("rt.jsonl", battle_to_json(b).dump() + "\n");
  const auto back = read_battles(path);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].model_b, "beta");
  EXPECT_EQ(back[0].winner, Winner::ModelB);
  ASSERT_EQ(back[0].games.size(), 2u);
  EXPECT_EQ(*back[0].games[0].score_b, 9.0);
  EXPECT_TRUE(back[0].games[1].unparseable());
  EXPECT_EQ(back[0].games[1].order, "ba");
  EXPECT_EQ(back[0].extra["turn"], 1);
  EXPECT_EQ(battle_to_json(back[0]).dump(), battle_to_json(b).dump());
}

TEST(BattleRecord, ReadsFastChatJsonArrays) {
  const std::string path = write_file("fc.json",
      R"J([{"model_a": "gpt-4", "model_b": "vicuna-13b", "winner": "tie (bothbad)", "judge": "arena_user_1",
           "turn": 1, "anony": true, "language": "English", "tstamp": 1682351591.1},
          {"question_id": 81, "model_a": "a", "model_b": "b", "winner": "model_a"}])J");
  const auto b = read_battles(path);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].winner, Winner::TieBothBad);
  EXPECT_EQ(b[0].extra["language"], "English");
  EXPECT_EQ(b[1].question_id, "81");
}

TEST(BattleRecord, BadRecordsNameFileLineAndKey) {
  struct Case { const char* line; const char* key; };
  const Case cases[] = {
      {R"({"model_a": "a", "model_b": "b", "winner": "model_c"})", "winner"},
      {R"({"model_a": "a", "winner": "tie"})", "model_b"},
      {R"({"model_a": "a", "model_b": "a", "winner": "tie"})", "model_b"},
      {R"({"model_a": "a", "model_b": "b", "winner": "tie", "games": [{"order": "xy"}]})", "games.order"},
      {R"({"model_a": "a", "model_b": "b", "winner": "tie", "games": [{"score_a": "high"}]})", "score_a"},
  };
  for (const Case& c : cases) {
    const std::string path = write_file("bad.jsonl", std::string(R"({"model_a": "x", "model_b": "y", "winner": "tie"})") + "\n" + c.line + "\n");
    try {
      read_battles(path);
      ADD_FAILURE() << "accepted " << c.line;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.context().line, 2) << c.line;
      EXPECT_EQ(e.context().key, c.key) << c.line;
      EXPECT_NE(std::string(e.what()).find("bad.jsonl"), std::string::npos);
    }
  }
}

}  // namespace
