// Bradley–Terry MLE on hand-derived cases: two models (closed form 400 log10(w / l)),
// ties as half a win or dropped, a three-model design the MLE fits exactly, the anchor,
// an undefeated model, a model that only tied (dropped) and the deduplicated rows.
#include <gtest/gtest.h>

#include <cmath>

#include "arena/bradley_terry.h"
#include "arena/elo_simulate.h"
#include "core/error.h"

namespace {
using namespace fw::arena;

void add(std::vector<Battle>& out, const std::string& a, const std::string& b, Winner w, int times) {
  for (int i = 0; i < times; ++i) {
    Battle x;
    x.model_a = a;
    x.model_b = b;
    x.winner = w;
    out.push_back(x);
  }
}

double elo_of(const BattleTable& t, const BradleyTerryFit& f, const std::string& m) { return f.elo[t.index_of(m)]; }

TEST(BradleyTerry, TwoModelsMatchTheClosedForm) {
  // 30 wins against 10: P(a beats b) = 3/4, so R_a - R_b = 400 log10(3); the mean is 1000.
  struct Case { int wins_a, wins_b; };
  for (Case c : {Case{30, 10}, Case{10, 30}, Case{7, 5}, Case{1, 99}}) {
    std::vector<Battle> battles;
    add(battles, "a", "b", Winner::ModelA, c.wins_a / 2);
    add(battles, "b", "a", Winner::ModelB, c.wins_a - c.wins_a / 2);  // a wins, shown second
    add(battles, "a", "b", Winner::ModelB, c.wins_b);
    const BattleTable t = tabulate_battles(battles, TieMode::Half);
    const BradleyTerryFit f = fit_battles(t, {});
    EXPECT_TRUE(f.converged);
    const double gap = 400 * std::log10(static_cast<double>(c.wins_a) / c.wins_b);
    EXPECT_NEAR(elo_of(t, f, "a") - elo_of(t, f, "b"), gap, 1e-4) << c.wins_a << ":" << c.wins_b;
    EXPECT_NEAR(elo_of(t, f, "a") + elo_of(t, f, "b"), 2000, 1e-9);
  }
}

TEST(BradleyTerry, TiesCountHalfOrAreDropped) {
  std::vector<Battle> battles;
  add(battles, "a", "b", Winner::ModelA, 30);
  add(battles, "a", "b", Winner::ModelB, 10);
  add(battles, "a", "b", Winner::Tie, 12);
  add(battles, "b", "a", Winner::TieBothBad, 8);
  // Half: 30 + 10 = 40 against 10 + 10 = 20 -> 400 log10(2). Drop: 30 against 10.
  const BattleTable half = tabulate_battles(battles, TieMode::Half);
  const BattleTable drop = tabulate_battles(battles, TieMode::Drop);
  EXPECT_EQ(half.battles, 60);
  EXPECT_EQ(drop.battles, 40);
  EXPECT_EQ(drop.ties_dropped, 20);
  const auto fh = fit_battles(half, {}), fd = fit_battles(drop, {});
  EXPECT_NEAR(fh.elo[0] - fh.elo[1], 400 * std::log10(2.0), 1e-4);
  EXPECT_NEAR(fd.elo[0] - fd.elo[1], 400 * std::log10(3.0), 1e-4);
}

TEST(BradleyTerry, ThreeModelsFitExactlyAndAnchor) {
  // Odds 2:1 for a over b and b over c and 4:1 for a over c: a BT-consistent design, so
  // the MLE reproduces it exactly: steps of 400 log10(2) = 120.412 Elo around 1000.
  std::vector<Battle> battles;
  add(battles, "a", "b", Winner::ModelA, 20);
  add(battles, "a", "b", Winner::ModelB, 10);
  add(battles, "c", "b", Winner::ModelB, 20);
  add(battles, "c", "b", Winner::ModelA, 10);
  add(battles, "a", "c", Winner::ModelA, 40);
  add(battles, "a", "c", Winner::ModelB, 10);
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  ASSERT_EQ(t.models, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.rows.size(), 6u);  // (a,b), (b,c), (a,c) x two outcomes each
  const double step = 400 * std::log10(2.0);
  const auto f = fit_battles(t, {});
  EXPECT_NEAR(elo_of(t, f, "a"), 1000 + step, 1e-4);
  EXPECT_NEAR(elo_of(t, f, "b"), 1000, 1e-4);
  EXPECT_NEAR(elo_of(t, f, "c"), 1000 - step, 1e-4);
  // Anchor c at 1100: everything moves by the same amount.
  const auto g = fit_battles(t, {}, Anchor{t.index_of("c"), 1100});
  EXPECT_NEAR(elo_of(t, g, "c"), 1100, 1e-9);
  EXPECT_NEAR(elo_of(t, g, "a"), 1100 + 2 * step, 1e-4);
  // Other scale / base / init: R = init + scale * log_base(odds) / 2 around the middle.
  BradleyTerryOptions o;
  o.scale = 1;
  o.base = std::exp(1.0);
  o.init = 0;
  const auto h = fit_battles(t, o);
  EXPECT_NEAR(elo_of(t, h, "a"), std::log(2.0), 1e-7);
}

TEST(BradleyTerry, UndefeatedModelGetsAFiniteTopRating) {
  std::vector<Battle> battles;
  add(battles, "champ", "b", Winner::ModelA, 50);
  add(battles, "b", "c", Winner::ModelA, 30);
  add(battles, "b", "c", Winner::ModelB, 20);
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  const auto f = fit_battles(t, {});
  EXPECT_TRUE(f.converged);
  for (double e : f.elo) EXPECT_TRUE(std::isfinite(e));
  EXPECT_GT(elo_of(t, f, "champ"), elo_of(t, f, "b") + 1000);  // the MLE is +infinity
  EXPECT_NEAR(elo_of(t, f, "b") - elo_of(t, f, "c"), 400 * std::log10(1.5), 0.01);
}

TEST(BradleyTerry, ModelWithOnlyDroppedTiesIsNaNAndLeftOut) {
  std::vector<Battle> battles;
  add(battles, "a", "b", Winner::ModelA, 3);
  add(battles, "a", "b", Winner::ModelB, 1);
  add(battles, "a", "lonely", Winner::Tie, 4);
  const BattleTable t = tabulate_battles(battles, TieMode::Drop);
  ASSERT_EQ(t.models.size(), 3u);
  const auto f = fit_battles(t, {});
  EXPECT_TRUE(std::isnan(elo_of(t, f, "lonely")));
  EXPECT_NEAR(elo_of(t, f, "a") + elo_of(t, f, "b"), 2000, 1e-9);  // the mean is over the rated models
}

TEST(BradleyTerry, PairWinsLayoutAndTieModeNames) {
  std::vector<Battle> battles;
  add(battles, "b", "a", Winner::ModelA, 2);  // b beats a twice
  add(battles, "a", "b", Winner::Tie, 1);
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  const auto w = pair_wins(t);  // [a,a a,b; b,a b,b]
  EXPECT_EQ(w, (std::vector<double>{0, 0.5, 2.5, 0}));
  EXPECT_EQ(tie_mode_from_name("drop"), TieMode::Drop);
  EXPECT_STREQ(tie_mode_name(TieMode::Half), "half");
  EXPECT_THROW(tie_mode_from_name("ignore"), fw::Error);
}

TEST(BradleyTerry, TabulationOfConcatenatedPartsEqualsTheWholeForAnyThreadCount) {
  // 200k battles cut into parts with different model lists (some models only in the last).
  std::vector<Battle> battles = simulate_battles({"m1", "m2", "m3", "m4"}, {1100, 1000, 1000, 900},
                                                 {.battles = 200000, .tie_rate = 0.2, .seed = 3});
  add(battles, "late", "m1", Winner::ModelB, 3);
  add(battles, "m2", "late", Winner::Tie, 2);
  for (TieMode mode : {TieMode::Half, TieMode::Drop}) {
    const BattleTable one = tabulate_battles(battles, mode);
    std::vector<EloBattles> parts;
    for (size_t lo : {size_t{0}, size_t{70000}, size_t{150000}}) {
      const size_t hi = lo == 150000 ? battles.size() : lo == 0 ? 70000 : 150000;
      parts.push_back(to_elo_battles({battles.begin() + static_cast<std::ptrdiff_t>(lo),
                                      battles.begin() + static_cast<std::ptrdiff_t>(hi)}));
    }
    EXPECT_EQ(parts[0].models.size(), 4u);
    const EloBattles whole = concat_elo_battles(std::move(parts));
    for (int threads : {1, 3, 0}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      const BattleTable many = tabulate_battles(whole, mode, threads);
      EXPECT_EQ(many.models, one.models);
      EXPECT_EQ(many.battles, one.battles);
      EXPECT_EQ(many.ties_dropped, one.ties_dropped);
      ASSERT_EQ(many.rows.size(), one.rows.size());
      for (size_t r = 0; r < one.rows.size(); ++r) {
        EXPECT_EQ(many.rows[r].a, one.rows[r].a);
        EXPECT_EQ(many.rows[r].b, one.rows[r].b);
        EXPECT_EQ(many.rows[r].outcome, one.rows[r].outcome);
        EXPECT_EQ(many.rows[r].count, one.rows[r].count);
      }
    }
  }
  EXPECT_EQ(tabulate_battles(battles, TieMode::Half).models.back(), "m4");
  EXPECT_EQ(tabulate_battles(battles, TieMode::Half).index_of("late"), 0);
}

TEST(BradleyTerry, TabulationKeepsOnlyModelsThatBattle) {
  EloBattles b;
  b.models = {"a", "b", "c", "d"};  // "b" never battles
  b.model_a = {0, 3, 2};
  b.model_b = {2, 0, 3};
  b.winner = {Winner::ModelA, Winner::ModelB, Winner::Tie};
  b.category = {-1, -1, -1};
  const BattleTable t = tabulate_battles(b, TieMode::Half);
  EXPECT_EQ(t.models, (std::vector<std::string>{"a", "c", "d"}));
  // Rows in compacted ids, each seen from its lower id: a beat c; d (shown first) lost to a.
  struct Row {
    int a, b;
    Outcome outcome;
  };
  const Row want[] = {{0, 1, Outcome::AWins}, {0, 2, Outcome::AWins}, {1, 2, Outcome::Tie}};
  ASSERT_EQ(t.rows.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(t.rows[i].a, want[i].a) << i;
    EXPECT_EQ(t.rows[i].b, want[i].b) << i;
    EXPECT_EQ(t.rows[i].outcome, want[i].outcome) << i;
  }
}

}  // namespace
