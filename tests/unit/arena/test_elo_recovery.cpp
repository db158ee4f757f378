// Recovery from simulated battles: with known Bradley–Terry strengths (no ties, so the
// model is exactly right), the fit recovers the true order, and over 40 seeds the
// bootstrap's 95 % CIs hold the true rating (centred like the fit: mean 1000) about 95 %
// of the time.
#include <gtest/gtest.h>

#include <numeric>

#include "arena/elo_bootstrap.h"
#include "arena/elo_simulate.h"

namespace {
using namespace fw::arena;

const std::vector<std::string> kModels = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};
const std::vector<double> kTrue = {1300, 1200, 1150, 1100, 1000, 950, 900, 800};

std::vector<double> centred_truth() {
  const double mean = std::accumulate(kTrue.begin(), kTrue.end(), 0.0) / kTrue.size();
  std::vector<double> t;
  for (double v : kTrue) t.push_back(v - mean + 1000);
  return t;
}

TEST(EloRecovery, RecoversTheTrueOrderAndGaps) {
  const auto battles = simulate_battles(kModels, kTrue, {.battles = 40000, .seed = 1});
  const BattleTable t = tabulate_battles(battles, TieMode::Half);
  ASSERT_EQ(t.models, kModels);  // sorted names = the true order
  const auto fit = fit_battles(t, {});
  const auto truth = centred_truth();
  for (size_t i = 0; i + 1 < kModels.size(); ++i) EXPECT_GT(fit.elo[i], fit.elo[i + 1]) << kModels[i];
  for (size_t i = 0; i < kModels.size(); ++i) EXPECT_NEAR(fit.elo[i], truth[i], 12) << kModels[i];
}

TEST(EloRecovery, BootstrapCisCoverTheTruthAbout95Percent) {
  const auto truth = centred_truth();
  int covered = 0, total = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const auto battles = simulate_battles(kModels, kTrue, {.battles = 3000, .seed = 100 + seed});
    const BattleTable t = tabulate_battles(battles, TieMode::Half);
    const auto fit = fit_battles(t, {});
    const auto boot = bootstrap_elo(t, {}, Anchor{}, {.rounds = 100, .seed = seed, .threads = 2}, fit.elo);
    for (size_t m = 0; m < kModels.size(); ++m) {
      ++total;
      covered += boot.ci_low[m] <= truth[m] && truth[m] <= boot.ci_high[m];
    }
  }
  const double coverage = static_cast<double>(covered) / total;
  std::cout << "coverage " << covered << "/" << total << " = " << coverage << "\n";
  EXPECT_GE(coverage, 0.85);
  EXPECT_LE(coverage, 1.0);
  EXPECT_LT(coverage, 0.995);  // CIs that always cover would be too wide to mean anything
}

}  // namespace
