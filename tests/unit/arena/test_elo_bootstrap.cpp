// The bootstrap: the binomial sampler against its pmf, the multinomial draw, quantiles as
// numpy computes them, and bootstrap CIs that are reproducible (same seed, any thread
// count -> identical; another seed -> different).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "arena/elo_bootstrap.h"
#include "arena/elo_simulate.h"

namespace {
using namespace fw::arena;

double binomial_pmf(int64_t n, double p, int64_t k) {
  return std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log(p) +
                  (n - k) * std::log1p(-p));
}

TEST(EloBootstrap, BinomialMatchesItsPmf) {
  // Inversion (n p < 10), BTRS (n p >= 10) and the p > 1/2 reflection: a chi-square test of
  // 40000 draws against the pmf, cells with expected count >= 5 (the rest pooled).
  struct Case { int64_t n; double p; };
  for (Case c : {Case{20, 0.2}, Case{100, 0.4}, Case{1000, 0.03}, Case{60, 0.85}, Case{5000, 0.5}}) {
    fw::Rng rng(7);
    const int draws = 40000;
    std::vector<double> seen(static_cast<size_t>(c.n + 1), 0);
    double mean = 0;
    for (int i = 0; i < draws; ++i) {
      const int64_t k = binomial(rng, c.n, c.p);
      ASSERT_GE(k, 0);
      ASSERT_LE(k, c.n);
      seen[k] += 1;
      mean += k;
    }
    mean /= draws;
    EXPECT_NEAR(mean, c.n * c.p, 5 * std::sqrt(c.n * c.p * (1 - c.p) / draws)) << c.n << " " << c.p;
    double chi2 = 0, pooled_seen = 0, pooled_exp = 0;
    int cells = 0;
    for (int64_t k = 0; k <= c.n; ++k) {
      const double e = draws * binomial_pmf(c.n, c.p, k);
      if (e >= 5) {
        chi2 += (seen[k] - e) * (seen[k] - e) / e;
        ++cells;
      } else {
        pooled_seen += seen[k];
        pooled_exp += e;
      }
    }
    if (pooled_exp > 0) {
      chi2 += (pooled_seen - pooled_exp) * (pooled_seen - pooled_exp) / pooled_exp;
      ++cells;
    }
    // df = cells - 1; mean df, sd sqrt(2 df): allow 5 sd.
    const double df = cells - 1;
    EXPECT_LT(chi2, df + 5 * std::sqrt(2 * df)) << c.n << " " << c.p << " cells " << cells;
  }
  fw::Rng rng(1);
  EXPECT_EQ(binomial(rng, 10, 0.0), 0);
  EXPECT_EQ(binomial(rng, 10, 1.0), 10);
  EXPECT_EQ(binomial(rng, 0, 0.5), 0);
}

TEST(EloBootstrap, MultinomialSumsToNWithTheRightMeans) {
  fw::Rng rng(3);
  const std::vector<double> w = {5, 0, 1, 4};
  std::vector<double> out, mean(4, 0);
  for (int i = 0; i < 4000; ++i) {
    multinomial(rng, 100, w, out);
    EXPECT_EQ(out[0] + out[1] + out[2] + out[3], 100);
    EXPECT_EQ(out[1], 0);  // zero weight, never drawn
    for (int k = 0; k < 4; ++k) mean[k] += out[k] / 4000;
  }
  EXPECT_NEAR(mean[0], 50, 0.5);
  EXPECT_NEAR(mean[2], 10, 0.3);
  EXPECT_NEAR(mean[3], 40, 0.5);
}

TEST(EloBootstrap, QuantilesInterpolateLikeNumpy) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // numpy.quantile([4, 1, 3, 2], q): 0.5 -> 2.5, 0.025 -> 1.075, 0.975 -> 3.925.
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_NEAR(quantile({4, 1, 3, 2}, 0.025), 1.075, 1e-12);
  EXPECT_NEAR(quantile({4, nan, 1, 3, 2}, 0.975), 3.925, 1e-12);  // NaNs skipped
  EXPECT_DOUBLE_EQ(quantile({7}, 0.975), 7);
  EXPECT_TRUE(std::isnan(quantile({nan}, 0.5)));
}

TEST(EloBootstrap, ReproducibleForAnyThreadCount) {
  const std::vector<std::string> models = {"m0", "m1", "m2", "m3", "m4", "m5"};
  const auto battles = simulate_battles(models, {1200, 1100, 1050, 1000, 950, 800},
                                        {.battles = 3000, .tie_rate = 0.2, .seed = 11});
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  const BradleyTerryOptions bt;
  const auto fit = fit_battles(t, bt);
  auto run = [&](uint64_t seed, int threads) {
    return bootstrap_elo(t, bt, Anchor{}, {.rounds = 40, .seed = seed, .threads = threads}, fit.elo);
  };
  const auto one = run(5, 1), three = run(5, 3), again = run(5, 2), other = run(6, 2);
  ASSERT_EQ(one.elo.size(), 40u * 6);
  EXPECT_EQ(one.elo, three.elo);  // bit-identical
  EXPECT_EQ(one.elo, again.elo);
  EXPECT_EQ(one.median, three.median);
  EXPECT_NE(one.elo, other.elo);
  for (size_t m = 0; m < models.size(); ++m) {
    EXPECT_LE(one.ci_low[m], one.median[m]);
    EXPECT_LE(one.median[m], one.ci_high[m]);
    EXPECT_LT(one.ci_high[m] - one.ci_low[m], 120);  // ~1000 battles per model: tens of Elo
    EXPECT_NEAR(one.median[m], fit.elo[m], 15);
  }
  // Every round is itself a fit: the mean rating of the round is 1000.
  for (int r = 0; r < one.rounds; ++r) {
    double s = 0;
    for (int m = 0; m < one.models; ++m) s += one.at(r, m);
    EXPECT_NEAR(s / one.models, 1000, 1e-6);
  }
}

TEST(EloBootstrap, AnchorHoldsInEveryRound) {
  const std::vector<std::string> models = {"a", "b", "c"};
  const auto battles = simulate_battles(models, {1100, 1000, 900}, {.battles = 600, .seed = 2});
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  const Anchor anchor{t.index_of("b"), 1100};
  const auto fit = fit_battles(t, {}, anchor);
  const auto boot = bootstrap_elo(t, {}, anchor, {.rounds = 20, .seed = 1, .threads = 2}, fit.elo);
  for (int r = 0; r < boot.rounds; ++r) EXPECT_DOUBLE_EQ(boot.at(r, anchor.index), 1100);
  EXPECT_DOUBLE_EQ(boot.ci_low[anchor.index], 1100);
  EXPECT_DOUBLE_EQ(boot.ci_high[anchor.index], 1100);
}

TEST(EloBootstrap, RoundsWithoutTheAnchorModelAreLeftOut) {
  // "rare" plays 1 of 200 battles: about 1 - (1 - 1/200)^200 = 63 % of rounds contain it,
  // the others have no reference point and must be all NaN, not unanchored numbers.
  std::vector<Battle> battles = simulate_battles({"a", "b"}, {1050, 950}, {.battles = 199, .seed = 5});
  Battle r;
  r.model_a = "rare";
  r.model_b = "a";
  r.winner = Winner::Tie;
  battles.push_back(r);
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  const Anchor anchor{t.index_of("rare"), 1100};
  const auto fit = fit_battles(t, {}, anchor);
  const auto boot = bootstrap_elo(t, {}, anchor, {.rounds = 50, .seed = 2, .threads = 1}, fit.elo);
  int absent = 0;
  for (int r2 = 0; r2 < boot.rounds; ++r2) {
    if (std::isnan(boot.at(r2, anchor.index))) {
      ++absent;
      EXPECT_TRUE(std::isnan(boot.at(r2, t.index_of("a"))));
      EXPECT_TRUE(std::isnan(boot.at(r2, t.index_of("b"))));
    } else {
      EXPECT_DOUBLE_EQ(boot.at(r2, anchor.index), 1100);
    }
  }
  EXPECT_GT(absent, 5);
  EXPECT_LT(absent, 45);
}

}  // namespace
