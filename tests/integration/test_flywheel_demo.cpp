// The embedded default end to end (slow: `make test-all`): `make demo`'s two commands into
// a scratch folder, then what every stage reports, and (disabled until it holds) the
// outcome issue 17 asks of every stage, read from summary.json:
// in each iteration the DPO snapshot is above that iteration's SFT snapshot and the PPO
// snapshot above the DPO one, each gap with non-overlapping 95 % intervals, and the final
// target well above tiny-I0. Also that the held-out figures reach the report: the reward
// model's held-out accuracy against the rule judge is at least 0.9, and PPO's held-out
// verifier score is higher at its last evaluation than at its first.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json_io.h"
#include "tests/integration/cli_run.h"

namespace {
namespace fs = std::filesystem;
using Json = nlohmann::json;

const Json& entry(const Json& board, const std::string& model) {
  for (const auto& e : board)
    if (e.at("model") == model) return e;
  ADD_FAILURE() << model << " is not on the final leaderboard";
  static const Json none = Json::object();
  return none;
}

// a's interval lies wholly above b's.
void expect_above(const Json& board, const std::string& a, const std::string& b) {
  const Json &x = entry(board, a), &y = entry(board, b);
  if (x.empty() || y.empty()) return;
  EXPECT_GT(x.at("ci_low").get<double>(), y.at("ci_high").get<double>())
      << a << " " << x.dump() << " is not above " << b << " " << y.dump();
}

const Json* stage(const Json& summary, const std::string& id) {
  for (const auto& s : summary.at("stages"))
    if (s.at("id") == id) return &s;
  return nullptr;
}

// `make demo` into a scratch folder, once per test process; its summary.json.
const Json& demo_summary() {
  static const Json summary = [] {
    const std::string dir = fw::testing::scratch("demo");
    fs::remove_all(dir);
    // As `make demo` runs it: from the checkout, where the recipe's stage recipes
    // (configs/sft/tiny.yaml, ...) are (ctest starts tests in the build folder).
    fs::current_path(FW_SOURCE_DIR);
    const std::string synth = dir + "/synth", out = dir + "/flywheel-tiny";
    EXPECT_EQ(fw::testing::run_flywheel("synth --out " + synth +
                                            " --n 12000 --seed 1 --max-difficulty 1 --heldout-by problem",
                                        dir + ".synth.log"),
              0);
    EXPECT_EQ(fw::testing::run_flywheel("run " FW_SOURCE_DIR "/configs/flywheel/tiny.yaml output_dir=" + out +
                                            " pool.files=[" + synth + "/train.jsonl] eval.prompts=[" + synth +
                                            "/heldout.jsonl]",
                                        dir + ".run.log"),
              0)
        << fw::testing::read_text(dir + ".run.log");
    return fs::exists(out + "/summary.json") ? fw::read_json_file(out + "/summary.json") : Json::object();
  }();
  return summary;
}

// What holds today: every stage reports its held-out figures and its gate check, and the
// target ends well above SFT-I0.
TEST(FlywheelDemo, StagesReportHeldOutFiguresAndGateChecksAndTheTargetClimbs) {
  const Json& summary = demo_summary();
  ASSERT_TRUE(summary.contains("final_leaderboard"));
  for (const std::string i : {"1", "2"}) {
    SCOPED_TRACE("iteration " + i);
    for (const std::string kind : {"sft", "dpo", "rm_ppo"}) {
      const Json* s = stage(summary, "i" + i + "." + kind);
      ASSERT_NE(s, nullptr) << kind;
      const Json& out = s->at("outputs");
      if (kind == "rm_ppo" && out.contains("skipped")) {  // a reward model below rm_min_accuracy
        EXPECT_NE(out["skipped"].get<std::string>().find("rm_min_accuracy"), std::string::npos) << out.dump();
        EXPECT_LT(out.at("heldout").at("rm").back().at("eval/accuracy").get<double>(), 0.65);
        continue;
      }
      ASSERT_TRUE(out.contains("gate")) << kind;
      EXPECT_GT(out["gate"]["checks"].at(0)["check"]["prompts"].get<int64_t>(), 100) << kind;
      if (kind == "sft") continue;
      EXPECT_FALSE(out.at("heldout").empty()) << kind;
    }
    const Json heldout = stage(summary, "i" + i + ".rm_ppo")->at("outputs").at("heldout");
    ASSERT_TRUE(heldout.contains("rm")) << heldout.dump();  // reported, whether PPO ran or not
  }
  const Json& board = summary.at("final_leaderboard");
  const Json& start = entry(board, "tiny-I0");
  double best = -1e9;
  for (const auto& e : board)
    if (e.at("model").get<std::string>().rfind("tiny-I2", 0) == 0) best = std::max(best, e.at("ci_low").get<double>());
  ASSERT_FALSE(start.empty());
  EXPECT_GT(best - start.at("ci_high").get<double>(), 150.0);
}

// Issue 17's acceptance, not met yet (docs/benchmarks.md, "Issue 17"): the reward model
// reaches about 0.77 held-out against the judge, PPO against it lowers the judge's score,
// and DPO's gain over SFT lies inside the intervals. Run it with
// --gtest_also_run_disabled_tests.
TEST(FlywheelDemo, DISABLED_EveryStageRaisesTheTarget) {
  const Json& summary = demo_summary();
  const Json& board = summary.at("final_leaderboard");
  for (const std::string i : {"1", "2"}) {
    SCOPED_TRACE("iteration " + i);
    expect_above(board, "tiny-I" + i + "-dpo", "tiny-I" + i + "-sft");
    expect_above(board, "tiny-I" + i + "-ppo", "tiny-I" + i + "-dpo");
    // Held-out figures: the RM against the judge's verdicts, PPO's verifier score over steps.
    const Json* rm_ppo = stage(summary, "i" + i + ".rm_ppo");
    ASSERT_NE(rm_ppo, nullptr);
    const Json heldout = rm_ppo->at("outputs").at("heldout");
    ASSERT_TRUE(heldout.contains("rm") && heldout.contains("train")) << heldout.dump();
    EXPECT_GE(heldout["rm"].back().at("eval/accuracy").get<double>(), 0.9);
    const Json& ppo = heldout["train"];
    ASSERT_GE(ppo.size(), 2u);
    EXPECT_GT(ppo.back().at("eval/judge_score").get<double>(), ppo.front().at("eval/judge_score").get<double>());
  }
  const Json &start = entry(board, "tiny-I0"), &last = entry(board, "tiny-I2-ppo");
  ASSERT_FALSE(start.empty() || last.empty());
  EXPECT_GT(last.at("ci_low").get<double>() - start.at("ci_high").get<double>(), 150.0);
}

}  // namespace
