// Leaderboards: computed from battles (sorted, CIs around the rating, per category),
// leaderboard.json round-trips (bootstrap rounds and NaNs included), hand-written
// reference files (a plain array, only model + elo) read, the markdown and the
// self-contained HTML carry every model, and bad files name the entry.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "arena/elo_run.h"
#include "arena/elo_simulate.h"
#include "arena/leaderboard.h"
#include "core/error.h"
#include "core/json_io.h"
#include "tests/support/test_tmp.h"

namespace {
using namespace fw::arena;

std::vector<Battle> sample_battles() {
  return simulate_battles({"alpha", "beta", "gamma <b>", "delta"}, {1200, 1100, 1000, 850},
                          {.battles = 2000, .tie_rate = 0.1, .seed = 4, .categories = {"math", "code"}});
}

TEST(Leaderboard, ComputedSortedWithCisAndCategories) {
  EloOptions o;
  o.bootstrap = {.rounds = 50, .seed = 3, .threads = 2};
  o.anchor_model = "beta";
  o.anchor_elo = 1100;
  const Leaderboard lb = compute_leaderboard(sample_battles(), o);
  ASSERT_EQ(lb.entries.size(), 4u);
  EXPECT_EQ(lb.entries[0].model, "alpha");
  EXPECT_EQ(lb.entries[3].model, "delta");
  int64_t battles = 0;
  for (size_t i = 0; i < lb.entries.size(); ++i) {
    const auto& e = lb.entries[i];
    if (i > 0) {
      EXPECT_GE(lb.entries[i - 1].elo, e.elo);
    }
    EXPECT_LE(e.ci_low, e.elo);
    EXPECT_GE(e.ci_high, e.elo);
    EXPECT_EQ(e.bootstrap.size(), 50u);
    EXPECT_NEAR(e.elo, e.mle_elo, 10);
    EXPECT_TRUE(std::isfinite(e.online_elo));
    battles += e.battles;
  }
  EXPECT_EQ(battles, 2 * 2000);  // each battle counts for both models
  EXPECT_DOUBLE_EQ(lb.entries[1].mle_elo, 1100);  // beta, the anchor
  EXPECT_EQ(lb.metadata["battles"], 2000);
  EXPECT_EQ(lb.metadata["anchor"]["model"], "beta");
  ASSERT_EQ(lb.categories.size(), 2u);
  EXPECT_EQ(lb.categories[0].category, "code");
  EXPECT_EQ(lb.categories[0].metadata["battles"].get<int64_t>() + lb.categories[1].metadata["battles"].get<int64_t>(),
            2000);
  // The pairwise matrix follows the entries' order and is complementary.
  ASSERT_EQ(lb.pair_models[0], "alpha");
  const double r01 = lb.pair_win_rate[0 * 4 + 1], r10 = lb.pair_win_rate[1 * 4 + 0];
  EXPECT_NEAR(r01 + r10, 1.0, 1e-12);
  EXPECT_GT(r01, 0.5);
}

TEST(Leaderboard, AnchorMissingFromTheBattlesIsAnError) {
  EloOptions o;
  o.bootstrap.rounds = 0;
  o.anchor_model = "llama-2-70b-chat";
  try {
    compute_leaderboard(sample_battles(), o);
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.context().key, "anchor");
  }
}

TEST(Leaderboard, JsonRoundTripsAndFilesAreWritten) {
  EloOptions o;
  o.bootstrap = {.rounds = 10, .seed = 1, .threads = 1};
  Leaderboard lb = compute_leaderboard(sample_battles(), o);
  lb.entries[2].bootstrap[3] = std::numeric_limits<double>::quiet_NaN();  // absent in a round
  const std::string dir = fw::testing::tmp_dir() + "/lb";
  const auto written = write_leaderboard_files(lb, dir);
  EXPECT_EQ(written.size(), 3u + 2 * 2);  // json, md, html + json, md per category
  const Leaderboard back = read_leaderboard(dir + "/leaderboard.json");
  ASSERT_EQ(back.entries.size(), lb.entries.size());
  for (size_t i = 0; i < lb.entries.size(); ++i) {
    EXPECT_EQ(back.entries[i].model, lb.entries[i].model);
    EXPECT_DOUBLE_EQ(back.entries[i].elo, lb.entries[i].elo);
    EXPECT_DOUBLE_EQ(back.entries[i].ci_low, lb.entries[i].ci_low);
    EXPECT_EQ(back.entries[i].battles, lb.entries[i].battles);
    ASSERT_EQ(back.entries[i].bootstrap.size(), 10u);
  }
  EXPECT_TRUE(std::isnan(back.entries[2].bootstrap[3]));
  EXPECT_EQ(back.metadata["bootstrap_rounds"], 10);
  const Leaderboard cat = read_leaderboard(dir + "/categories/math/leaderboard.json");
  EXPECT_EQ(cat.category, "math");
  EXPECT_EQ(cat.entries.size(), 4u);

  const std::string md = fw::read_text_file(dir + "/leaderboard.md");
  const std::string html = fw::read_text_file(dir + "/leaderboard.html");
  for (const auto& e : lb.entries) EXPECT_NE(md.find("| " + e.model + " |"), std::string::npos) << e.model;
  EXPECT_NE(md.find("## math"), std::string::npos);
  EXPECT_NE(html.find("gamma &lt;b&gt;"), std::string::npos);  // names are escaped
  EXPECT_EQ(html.find("gamma <b>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained: no scripts,
  EXPECT_EQ(html.find("http"), std::string::npos);     // no external assets
  EXPECT_EQ(html.find("src="), std::string::npos);
  size_t bars = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++bars;
  EXPECT_EQ(bars, 4u + 2 * 4);  // a CI bar per model, overall and per category
  EXPECT_NE(html.find("Pairwise win rate"), std::string::npos);
}

TEST(Leaderboard, ReadsHandWrittenReferencesAndNamesBadEntries) {
  const std::string dir = fw::testing::tmp_dir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const Leaderboard plain = read_leaderboard(
      write("plain.json", R"([{"model": "b", "elo": 1000}, {"model": "a", "elo": 1200, "ci_low": 1190, "ci_high": 1210}])"));
  ASSERT_EQ(plain.entries.size(), 2u);
  EXPECT_EQ(plain.entries[0].model, "a");  // sorted on read
  EXPECT_TRUE(std::isnan(plain.entries[1].ci_low));
  const Leaderboard wrapped = read_leaderboard(write("wrapped.json", R"({"leaderboard": [{"model": "x", "elo": 1}]})"));
  EXPECT_EQ(wrapped.entries[0].model, "x");
  struct Case { const char* text; const char* key; };
  const Case bad[] = {
      {R"([{"model": "a"}])", "models[0].elo"},
      {R"([{"model": "a", "elo": 1}, {"elo": 2}])", "models[1].model"},
      {R"([{"model": "a", "elo": "high"}])", "models[0].elo"},
      {R"([{"model": "a", "elo": 1}, {"model": "a", "elo": 2}])", "models[1].model"},
      {R"({"rows": []})", "models"},
  };
  for (const Case& c : bad) {
    const std::string path = write("bad.json", c.text);
    try {
      read_leaderboard(path);
      ADD_FAILURE() << "no error for " << c.text;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.context().file, path);
      EXPECT_EQ(e.context().key, c.key) << c.text;
    }
  }
}

TEST(Leaderboard, WithoutBootstrapTheMleAndNoCis) {
  EloOptions o;
  o.bootstrap.rounds = 0;
  o.per_category = false;
  const Leaderboard lb = compute_leaderboard(sample_battles(), o);
  EXPECT_TRUE(lb.categories.empty());
  for (const auto& e : lb.entries) {
    EXPECT_EQ(e.elo, e.mle_elo);
    EXPECT_TRUE(std::isnan(e.ci_low));
    EXPECT_TRUE(e.bootstrap.empty());
  }
  const auto j = leaderboard_to_json(lb);
  EXPECT_TRUE(j["models"][0]["ci_low"].is_null());
  EXPECT_FALSE(j["models"][0].contains("bootstrap"));
  EXPECT_NE(leaderboard_markdown(lb).find(" | - | "), std::string::npos);  // no CI column value
}

TEST(Leaderboard, CategorySlugsAreSafeFileNames) {
  EXPECT_EQ(category_slug("math"), "math");
  EXPECT_EQ(category_slug("multi turn/hard"), "multi_turn_hard");
  EXPECT_EQ(category_slug(".."), "_..");
}

}  // namespace
