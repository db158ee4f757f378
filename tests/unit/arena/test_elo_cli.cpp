// `flywheel elo` and `flywheel consistency` end to end: the three leaderboard files (and
// the per-category ones) from a small battle file, the same seed giving the same file for
// any thread count, bad input exiting 2 with file:line, and the consistency metrics.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "arena/elo_simulate.h"
#include "arena/leaderboard.h"
#include "core/json_io.h"
#include "tests/support/test_tmp.h"

namespace {
namespace fs = std::filesystem;
using namespace fw::arena;

std::string flywheel() {
  const char* b = std::getenv("FLYWHEEL_BIN");
  return b ? b : FW_BINARY_DIR "/bin/flywheel";
}

int run(const std::string& args, const std::string& log) {
  const int status = std::system((flywheel() + " " + args + " > " + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string battles_file(const std::string& name, int64_t n, const std::vector<std::string>& categories = {}) {
  const std::string path = fw::testing::tmp_dir() + "/" + name;
  std::ofstream out(path);
  for (const Battle& b : simulate_battles({"a", "b", "c", "d"}, {1150, 1050, 1000, 900},
                                          {.battles = n, .tie_rate = 0.1, .seed = 9, .categories = categories}))
    out << battle_to_json(b).dump() << "\n";
  return path;
}

TEST(EloCli, WritesTheLeaderboardFiles) {
  const std::string in = battles_file("b.jsonl", 1500, {"math", "writing"});
  const std::string dir = fw::testing::tmp_dir() + "/elo";
  const std::string log = fw::testing::tmp_dir() + "/elo.log";
  ASSERT_EQ(run("elo --battles " + in + " --out " + dir + " --bootstrap 30 --anchor b=1100 --seed 3 --threads 2", log), 0)
      << fw::read_text_file(log);
  for (const char* f : {"leaderboard.json", "leaderboard.md", "leaderboard.html", "categories/math/leaderboard.json",
                        "categories/writing/leaderboard.md"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  const Leaderboard lb = read_leaderboard(dir + "/leaderboard.json");
  ASSERT_EQ(lb.entries.size(), 4u);
  EXPECT_EQ(lb.entries[0].model, "a");
  EXPECT_EQ(lb.entries[0].bootstrap.size(), 30u);
  EXPECT_EQ(lb.metadata["battles"], 1500);
  const std::string printed = fw::read_text_file(log);
  EXPECT_NE(printed.find("| 1 | a |"), std::string::npos) << printed;  // the table is printed
  EXPECT_NE(printed.find("elo timing: read"), std::string::npos);

  // The same seed on one thread writes the same leaderboard.json byte for byte.
  const std::string dir1 = fw::testing::tmp_dir() + "/elo1";
  ASSERT_EQ(run("elo --battles " + in + " --out " + dir1 + " --bootstrap 30 --anchor b=1100 --seed 3 --threads 1", log), 0);
  EXPECT_EQ(fw::read_text_file(dir + "/leaderboard.json"), fw::read_text_file(dir1 + "/leaderboard.json"));
}

TEST(EloCli, BadInputExitsTwoNamingFileAndLine) {
  const std::string good = battles_file("good.jsonl", 5);
  const std::string bad = fw::testing::tmp_dir() + "/bad.jsonl";
  {
    std::ofstream out(bad);
    out << fw::read_text_file(good).substr(0, fw::read_text_file(good).find('\n') + 1);
    out << R"({"model_a": "a", "model_b": "b", "winner": "model_a"})" << "\n";
    out << R"({"model_a": "a", "model_b": "b", "winner": "a_won"})" << "\n";
  }
  const std::string dir = fw::testing::tmp_dir() + "/bad";
  const std::string log = fw::testing::tmp_dir() + "/bad.log";
  EXPECT_EQ(run("elo --battles " + good + " " + bad + " --out " + dir, log), 2);
  const std::string text = fw::read_text_file(log);
  EXPECT_NE(text.find(bad + ":3"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(dir + "/leaderboard.json"));
  EXPECT_EQ(run("elo --battles " + good + " --out " + dir + " --anchor nobody=1100", log), 2);
  EXPECT_NE(fw::read_text_file(log).find("anchor"), std::string::npos);
  EXPECT_EQ(run("elo --battles " + good + " --out " + dir + " --anchor b", log), 2);
  EXPECT_EQ(run("elo --battles " + good + " --out " + dir + " --ties maybe", log), 2);
  EXPECT_EQ(run("elo --battles " + fw::testing::tmp_dir() + "/missing.jsonl --out " + dir, log), 1);
}

TEST(EloCli, ConsistencyWritesTheMetrics) {
  const std::string in = battles_file("c.jsonl", 3000);
  const std::string dir = fw::testing::tmp_dir() + "/cons";
  const std::string log = fw::testing::tmp_dir() + "/cons.log";
  ASSERT_EQ(run("elo --battles " + in + " --out " + dir + " --bootstrap 20", log), 0) << fw::read_text_file(log);
  const std::string ref = fw::testing::tmp_dir() + "/ref.json";
  std::ofstream(ref) << R"([{"model": "a", "elo": 1300, "ci_low": 1290, "ci_high": 1310},
                            {"model": "b", "elo": 1200, "ci_low": 1190, "ci_high": 1210},
                            {"model": "c", "elo": 1100, "ci_low": 1090, "ci_high": 1110},
                            {"model": "d", "elo": 1000, "ci_low": 990, "ci_high": 1010},
                            {"model": "e", "elo": 900}])";
  const std::string out = fw::testing::tmp_dir() + "/cons.json";
  ASSERT_EQ(run("consistency --ours " + dir + "/leaderboard.json --reference " + ref + " --out " + out, log), 0)
      << fw::read_text_file(log);
  const auto j = fw::read_json_file(out);
  EXPECT_DOUBLE_EQ(j["spearman"].get<double>(), 1.0);
  EXPECT_EQ(j["models"], 4);
  EXPECT_EQ(j["only_reference"], nlohmann::json::array({"e"}));
  // Only the common models count: "e" (no CI) is left out, so the reference's CIs separate
  // all 6 pairs; ours never separates a pair the wrong way.
  EXPECT_EQ(j["confident_pairs"], 6);
  EXPECT_EQ(j["disagree"], 0);
  EXPECT_GT(j["agreement_with_confidence"].get<double>(), 0.3);
  EXPECT_EQ(j["spearman_bootstrap"]["rounds"], 20);
  EXPECT_NE(fw::read_text_file(log).find("spearman"), std::string::npos);
  // A reference sharing fewer than two models is bad input.
  std::ofstream(ref) << R"([{"model": "zz", "elo": 1}])";
  EXPECT_EQ(run("consistency --ours " + dir + "/leaderboard.json --reference " + ref, log), 2);
}

}  // namespace
