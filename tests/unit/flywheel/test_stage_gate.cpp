// The stage gate's check on constructed battles (win rate with ties half, the bootstrap
// interval, which battles count), the gate's action names, and the stages' held-out count.
#include <gtest/gtest.h>

#include "core/error.h"
#include "flywheel/stage_data.h"
#include "flywheel/stage_gate.h"

namespace {
using namespace fw::flywheel;
using fw::arena::Battle;
using fw::arena::Winner;

Battle battle(const std::string& a, const std::string& b, Winner w, int q) {
  Battle x;
  x.question_id = "q" + std::to_string(q);
  x.model_a = a;
  x.model_b = b;
  x.winner = w;
  return x;
}

TEST(StageGate, WinRateCountsTiesHalfFromEitherSide) {
  // The output is model_a in some battles and model_b in others: 3 wins, 1 loss, 2 ties
  // (one "tie (bothbad)") -> (3 + 1) / 6.
  const std::vector<Battle> battles = {
      battle("out", "in", Winner::ModelA, 1), battle("in", "out", Winner::ModelB, 2),
      battle("out", "in", Winner::ModelA, 3), battle("in", "out", Winner::ModelA, 4),
      battle("out", "in", Winner::Tie, 5),    battle("in", "out", Winner::TieBothBad, 6),
      battle("out", "other", Winner::ModelB, 7),  // not between the two: ignored
  };
  const GateCheck g = gate_check(battles, "out", "in", 0.5, 500, 1);
  EXPECT_EQ(g.prompts, 6);
  EXPECT_EQ(g.wins, 3);
  EXPECT_EQ(g.losses, 1);
  EXPECT_EQ(g.ties, 2);
  EXPECT_DOUBLE_EQ(g.win_rate, 4.0 / 6.0);
  EXPECT_TRUE(g.passed);
  EXPECT_LE(g.ci_low, g.win_rate);
  EXPECT_GE(g.ci_high, g.win_rate);
  EXPECT_GE(g.ci_low, 0.0);
  EXPECT_LE(g.ci_high, 1.0);
  EXPECT_LT(g.ci_low, g.ci_high);
  // The bar is strict: exactly min_win_rate fails.
  EXPECT_FALSE(gate_check(battles, "out", "in", 4.0 / 6.0, 0, 1).passed);
  // Seeded: the same interval again.
  const GateCheck again = gate_check(battles, "out", "in", 0.5, 500, 1);
  EXPECT_EQ(again.ci_low, g.ci_low);
  EXPECT_EQ(again.ci_high, g.ci_high);
}

TEST(StageGate, AHarmfulOutputFailsWithAnIntervalBelowTheBar) {
  std::vector<Battle> battles;
  for (int q = 0; q < 100; ++q) battles.push_back(battle("out", "in", q < 10 ? Winner::ModelA : Winner::ModelB, q));
  const GateCheck g = gate_check(battles, "out", "in", 0.5, 1000, 7);
  EXPECT_DOUBLE_EQ(g.win_rate, 0.1);
  EXPECT_FALSE(g.passed);
  EXPECT_LT(g.ci_high, 0.25);  // binomial sd 0.03: the interval is about 0.04 - 0.16
  EXPECT_GT(g.ci_low, 0.0);
  EXPECT_EQ(g.to_json()["passed"], false);
}

TEST(StageGate, NoBattleBetweenTheTwoFails) {
  const GateCheck g = gate_check({battle("a", "b", Winner::ModelA, 1)}, "out", "in", 0.0, 100, 1);
  EXPECT_EQ(g.prompts, 0);
  EXPECT_FALSE(g.passed);
}

TEST(StageGate, ActionNames) {
  for (const auto a : {GateAction::Keep, GateAction::Retry, GateAction::Drop})
    EXPECT_EQ(gate_action_from_name(gate_action_name(a)), a);
  EXPECT_THROW(gate_action_from_name("rerun"), fw::Error);
}

TEST(StageHeldout, CountIsTheRoundedShareLeavingOneEachSide) {
  struct Case { size_t n; double fraction; size_t expected; };
  const Case cases[] = {{1200, 0.1, 120}, {40, 0.1, 4}, {10, 0.0, 0}, {1, 0.5, 0}, {2, 0.1, 1}, {3, 0.5, 2}, {5, 0.5, 3}};
  for (const Case& c : cases)
    EXPECT_EQ(heldout_count(c.n, c.fraction), c.expected) << c.n << " x " << c.fraction;
}

}  // namespace
