// The report's stage tables from a constructed manifest: each stage's held-out figures
// (first, last and every value over the steps: PPO's judge score against the reward
// model's) and each gate attempt with its interval and outcome.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/json_io.h"
#include "flywheel/report.h"
#include "tests/support/test_tmp.h"

namespace {
using nlohmann::json;

json ppo_stage() {
  json heldout = {{"rm", json::array({{{"step", 0}, {"eval/accuracy", 0.5}}, {{"step", 400}, {"eval/accuracy", 0.76}}})},
                  {"train", json::array({{{"step", 0}, {"eval/judge_score", 7.8}, {"eval/reward_model_score", 0.25}},
                                         {{"step", 10}, {"eval/judge_score", 7.5}, {"eval/reward_model_score", 0.5}},
                                         {{"step", 20}, {"eval/judge_score", 7.2}, {"eval/reward_model_score", 0.9}}})}};
  json gate = {{"verdict", "passed"},
               {"checks", json::array({{{"attempt", 0}, {"settings", ""},
                                        {"check", {{"prompts", 120}, {"win_rate", 0.425}, {"ci_low", 0.3875},
                                                   {"ci_high", 0.463}, {"passed", false}}}},
                                       {{"attempt", 1}, {"settings", "optim.lr=3.0e-6 ppo.kl_coef=0.3"},
                                        {"check", {{"prompts", 120}, {"win_rate", 0.504}, {"ci_low", 0.4875},
                                                   {"ci_high", 0.525}, {"passed", true}}}}})}};
  return {{"id", "i1.rm_ppo"}, {"status", "done"},
          {"outputs", {{"data", {{"examples", 2117}}}, {"heldout", heldout}, {"gate", gate}}}};
}

TEST(FlywheelReport, HeldOutFiguresAndGateAttemptsAreTabulated) {
  const std::string out = fw::testing::tmp_dir() + "/report";
  std::filesystem::create_directories(out);
  const json manifest = {{"stages", json::array({{{"id", "split"}, {"status", "done"}}, ppo_stage()})}};
  fw::flywheel::FlywheelRecipe recipe;
  fw::flywheel::write_report(out, manifest, recipe);
  const std::string md = fw::read_text_file(out + "/report.md");
  // PPO's judge score falling over its steps while the reward model's rises, step by step.
  EXPECT_NE(md.find("| i1.rm_ppo | ppo | judge_score | 7.800 | 7.200 | 0: 7.800, 10: 7.500, 20: 7.200 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| i1.rm_ppo | ppo | reward_model_score | 0.250 | 0.900 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| i1.rm_ppo | rm | accuracy | 0.500 | 0.760 | 0: 0.500, 400: 0.760 |"), std::string::npos) << md;
  // Both gate attempts: the failed one marked as retried, the last with the verdict.
  EXPECT_NE(md.find("| i1.rm_ppo | 0 |  | 120 | 42.5% | 38.8 – 46.3% | failed, retried |"), std::string::npos) << md;
  EXPECT_NE(md.find("| i1.rm_ppo | 1 | optim.lr=3.0e-6 ppo.kl_coef=0.3 | 120 | 50.4% | 48.8 – 52.5% | passed |"),
            std::string::npos)
      << md;
  // The same figures reach summary.json for scripts.
  const json summary = fw::read_json_file(out + "/summary.json");
  bool found = false;
  for (const auto& s : summary.at("stages"))
    if (s.at("id") == "i1.rm_ppo") found = s.at("outputs").at("heldout").at("train").size() == 3;
  EXPECT_TRUE(found);
}

}  // namespace
