// Parity with TRL: every DPO loss variant and the reward-model loss equal the installed
// TRL's own code path on the same fixed log-probs / rewards (tests/parity/trl_losses.py
// explains the harness), at 1e-6: batch loss, per-pair losses, gradients with respect to
// the policy log-probs (rewards) and TRL's logged reward metrics.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tests/support/test_tmp.h"
#include "core/json_io.h"
#include "losses/dpo.h"
#include "losses/reward.h"

namespace {
using nlohmann::json;
constexpr double kTol = 1e-6;
double g_max_diff = 0;  // largest difference seen, printed at the end of each test

void expect_near(double ours, const json& theirs, const std::string& what) {
  const double t = theirs.get<double>();
  g_max_diff = std::max(g_max_diff, std::abs(ours - t));
  EXPECT_NEAR(ours, t, kTol) << what;
}

// Runs the script once per process (ctest runs each TEST as its own process, maybe in
// parallel: hence a file per process).
const json& reference() {
  static const json ref = [] {
    const std::string out = fw::testing::tmp_dir() + "/trl_losses." + std::to_string(getpid()) + ".json";
    const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR + "/tests/parity/trl_losses.py " + out;
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    json j = fw::read_json_file(out);
    std::filesystem::remove(out);
    return j;
  }();
  return ref;
}

at::Tensor vec(const json& j) { return at::tensor(j.get<std::vector<double>>(), at::kDouble); }
at::Tensor ivec(const json& j) { return at::tensor(j.get<std::vector<int64_t>>(), at::kLong); }

void expect_close(const at::Tensor& ours, const json& theirs, const std::string& what) {
  at::Tensor t = vec(theirs);
  ASSERT_EQ(ours.numel(), t.numel()) << what;
  const double diff = (ours.to(at::kDouble) - t).abs().max().item<double>();
  g_max_diff = std::max(g_max_diff, diff);
  EXPECT_LT(diff, kTol) << what << "\nours:   " << ours << "\ntheirs: " << t;
}

TEST(TrlParity, DpoLossesEqualTrl) {
  g_max_diff = 0;
  std::cout << "TRL " << reference()["trl_version"].get<std::string>() << "\n";  // losses/dpo.h documents 1.16
  ASSERT_EQ(reference()["dpo"].size(), 9u);
  for (const json& c : reference()["dpo"]) {
    const std::string name = c["loss_type"].get<std::string>() + " beta=" + std::to_string(c["beta"].get<double>()) +
                             " ls=" + std::to_string(c["label_smoothing"].get<double>());
    SCOPED_TRACE(name);
    fw::losses::DpoLossOptions opts{.type = fw::losses::dpo_loss_type_from_name(c["loss_type"]),
                                    .beta = c["beta"],
                                    .label_smoothing = c["label_smoothing"]};
    at::Tensor pc = vec(c["policy_chosen_logps"]).requires_grad_(true);
    at::Tensor pr = vec(c["policy_rejected_logps"]).requires_grad_(true);
    auto out = fw::losses::dpo_loss(pc, pr, vec(c["ref_chosen_logps"]), vec(c["ref_rejected_logps"]), opts,
                                    ivec(c["chosen_lengths"]), ivec(c["rejected_lengths"]));
    expect_near(out.loss.item<double>(), c["loss"], "loss");
    expect_close(out.losses, c["losses"], "per-pair losses");
    out.loss.backward();
    expect_close(pc.grad(), c["grad_policy_chosen"], "d loss / d policy_chosen_logps");
    expect_close(pr.grad(), c["grad_policy_rejected"], "d loss / d policy_rejected_logps");
    expect_near(out.chosen_rewards.mean().item<double>(), c["rewards_chosen_mean"], "rewards_chosen_mean");
    expect_near(out.rejected_rewards.mean().item<double>(), c["rewards_rejected_mean"], "rewards_rejected_mean");
    at::Tensor margins = out.chosen_rewards - out.rejected_rewards;
    expect_near(margins.mean().item<double>(), c["rewards_margins_mean"], "rewards_margins_mean");
    expect_near((margins > 0).to(at::kDouble).mean().item<double>(), c["rewards_accuracies"], "rewards_accuracies");
  }
  std::cout << "largest difference to TRL: " << g_max_diff << "\n";
}

TEST(TrlParity, RpoEqualsTrlSigmoidPlusSft) {
  g_max_diff = 0;
  ASSERT_EQ(reference()["rpo"].size(), 2u);
  for (const json& c : reference()["rpo"]) {
    SCOPED_TRACE("beta=" + std::to_string(c["beta"].get<double>()) + " alpha=" + std::to_string(c["rpo_alpha"].get<double>()));
    fw::losses::DpoLossOptions opts{.beta = c["beta"], .rpo_alpha = c["rpo_alpha"]};
    at::Tensor pc = vec(c["policy_chosen_logps"]).requires_grad_(true);
    at::Tensor pr = vec(c["policy_rejected_logps"]).requires_grad_(true);
    auto out = fw::losses::dpo_loss(pc, pr, vec(c["ref_chosen_logps"]), vec(c["ref_rejected_logps"]), opts,
                                    ivec(c["chosen_lengths"]), ivec(c["rejected_lengths"]));
    expect_near(out.loss.item<double>(), c["loss"], "loss");
    out.loss.backward();
    expect_close(pc.grad(), c["grad_policy_chosen"], "d loss / d policy_chosen_logps");
    expect_close(pr.grad(), c["grad_policy_rejected"], "d loss / d policy_rejected_logps");
  }
  std::cout << "largest difference to TRL: " << g_max_diff << "\n";
}

TEST(TrlParity, RewardLossEqualsTrl) {
  g_max_diff = 0;
  ASSERT_EQ(reference()["reward"].size(), 5u);
  for (const json& c : reference()["reward"]) {
    const bool has_margin = !c["margin"].is_null();
    const json& coef = c["center_rewards_coefficient"];
    const double center = coef.is_null() ? 0.0 : coef.get<double>();
    SCOPED_TRACE(std::string("margin=") + (has_margin ? "yes" : "no") + " center=" + std::to_string(center));
    at::Tensor rc = vec(c["rewards_chosen"]).requires_grad_(true);
    at::Tensor rr = vec(c["rewards_rejected"]).requires_grad_(true);
    auto out = fw::losses::reward_loss(rc, rr, has_margin ? vec(c["margin"]) : at::Tensor(), center);
    expect_near(out.loss.item<double>(), c["loss"], "loss");
    expect_near(out.accuracy, c["accuracy"], "accuracy");
    expect_near(out.margins.mean().item<double>(), c["margin_mean"], "margin_mean");
    out.loss.backward();
    expect_close(rc.grad(), c["grad_chosen"], "d loss / d rewards_chosen");
    expect_close(rr.grad(), c["grad_rejected"], "d loss / d rewards_rejected");
  }
  std::cout << "largest difference to TRL: " << g_max_diff << "\n";
}

}  // namespace
