// Consistency metrics on hand-computed cases: Spearman and Kendall tau-b with and without
// ties, agreement with confidence and separability on constructed CIs, the bootstrap
// intervals, and models missing from one side.
#include <gtest/gtest.h>

#include <cmath>

#include "arena/consistency.h"

namespace {
using namespace fw::arena;

LeaderboardEntry entry(const std::string& m, double elo, double lo, double hi) {
  LeaderboardEntry e;
  e.model = m;
  e.elo = elo;
  e.ci_low = lo;
  e.ci_high = hi;
  return e;
}

TEST(Consistency, RankCorrelationsByHand) {
  EXPECT_EQ(average_ranks({10, 30, 20, 30}), (std::vector<double>{4, 1.5, 3, 1.5}));
  // No ties: x = 1..5, y swaps the last two: d^2 = 2, rho = 1 - 6*2 / (5*24) = 0.9;
  // tau: 9 concordant, 1 discordant of 10 -> 0.8.
  const std::vector<double> x = {5, 4, 3, 2, 1}, y = {5, 4, 3, 1, 2};
  EXPECT_NEAR(spearman(x, y), 0.9, 1e-12);
  EXPECT_NEAR(kendall_tau_b(x, y), 0.8, 1e-12);
  EXPECT_NEAR(spearman(x, {1, 2, 3, 4, 5}), -1.0, 1e-12);
  // Ties: x = (1, 2, 3, 4), y = (1, 2, 2, 3). Ranks (descending) rx = (4, 3, 2, 1),
  // ry = (4, 2.5, 2.5, 1): centred rx = (1.5, .5, -.5, -1.5), ry = (1.5, 0, 0, -1.5);
  // rho = 4.5 / sqrt(5 * 4.5) = 0.948683. tau-b: 5 concordant, 0 discordant, one pair tied
  // in y: 5 / sqrt(6 * 5) = 0.912871.
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 2, 2, 3}), 4.5 / std::sqrt(22.5), 1e-12);
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4}, {1, 2, 2, 3}), 5 / std::sqrt(30.0), 1e-12);
  EXPECT_TRUE(std::isnan(spearman({1}, {2})));
  EXPECT_TRUE(std::isnan(kendall_tau_b({1, 1}, {1, 2})));
}

TEST(Consistency, AgreementAndSeparabilityOnConstructedCis) {
  // Reference: a > b > c > d, CIs: a and b overlap, everything else separated (5 of 6 pairs).
  Leaderboard ref, ours;
  ref.entries = {entry("a", 1300, 1280, 1320), entry("b", 1290, 1270, 1310), entry("c", 1100, 1090, 1110),
                 entry("d", 900, 890, 910), entry("only-ref", 800, 790, 810)};
  // Ours: b slightly above a (overlapping), c and d overlapping, d below b with confidence;
  // a vs c, a vs d, b vs c, b vs d separated the same way as the reference.
  ours.entries = {entry("b", 1305, 1295, 1315), entry("a", 1300, 1290, 1310), entry("c", 1000, 980, 1020),
                  entry("d", 990, 970, 1010), entry("only-ours", 500, 490, 510)};
  const Consistency c = compare_leaderboards(ours, ref);
  EXPECT_EQ(c.common, (std::vector<std::string>{"b", "a", "c", "d"}));
  EXPECT_EQ(c.only_ours, (std::vector<std::string>{"only-ours"}));
  EXPECT_EQ(c.only_reference, (std::vector<std::string>{"only-ref"}));
  EXPECT_EQ(c.pairs, 6);
  // Confident reference pairs: (a,c) (a,d) (b,c) (b,d) (c,d) = 5. Ours: the first four the
  // same way (+1 each), (c,d) overlaps (0): agreement = 4 / 5.
  EXPECT_EQ(c.confident_pairs, 5);
  EXPECT_EQ(c.agree, 4);
  EXPECT_EQ(c.undecided, 1);
  EXPECT_EQ(c.disagree, 0);
  ASSERT_TRUE(c.agreement);
  EXPECT_NEAR(*c.agreement, 0.8, 1e-12);
  // Our separability: (a,b) and (c,d) overlap -> 4 / 6; the reference's: 5 / 6.
  EXPECT_NEAR(*c.separability, 4.0 / 6, 1e-12);
  EXPECT_NEAR(*c.reference_separability, 5.0 / 6, 1e-12);
  // Ranks over the common models: ours b, a, c, d vs the reference a, b, c, d.
  EXPECT_NEAR(c.spearman, 0.8, 1e-12);   // d^2 = 2: 1 - 12 / 60
  EXPECT_NEAR(c.kendall, 4.0 / 6, 1e-12);  // 5 concordant, 1 discordant

  // A confident pair ordered the other way scores -1.
  Leaderboard flipped = ours;
  flipped.entries[2] = entry("c", 800, 780, 820);   // c now below d with confidence
  flipped.entries[3] = entry("d", 1000, 980, 1020);
  const Consistency f = compare_leaderboards(flipped, ref);
  EXPECT_EQ(f.disagree, 1);
  EXPECT_NEAR(*f.agreement, (4.0 - 1.0) / 5, 1e-12);
}

TEST(Consistency, WithoutCisOnlyTheCorrelations) {
  Leaderboard ref, ours;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ref.entries = {entry("a", 3, nan, nan), entry("b", 2, nan, nan), entry("c", 1, nan, nan)};
  ours.entries = {entry("a", 30, 29, 31), entry("b", 20, 19, 21), entry("c", 10, 9, 11)};
  const Consistency c = compare_leaderboards(ours, ref);
  EXPECT_NEAR(c.spearman, 1.0, 1e-12);
  EXPECT_FALSE(c.agreement);
  EXPECT_FALSE(c.reference_separability);
  ASSERT_TRUE(c.separability);
  EXPECT_NEAR(*c.separability, 1.0, 1e-12);
  const auto j = consistency_to_json(c);
  EXPECT_TRUE(j["agreement_with_confidence"].is_null());
  EXPECT_EQ(j["models"], 3);
}

TEST(Consistency, BootstrapIntervalsPairedOrAgainstTheReferencePoint) {
  Leaderboard ref, ours;
  ref.entries = {entry("a", 3, 2.5, 3.5), entry("b", 2, 1.5, 2.5), entry("c", 1, 0.5, 1.5)};
  ours.entries = ref.entries;
  // Four rounds of ours: the true order twice, b/c swapped once, reversed once.
  ours.entries[0].bootstrap = {3, 3, 3, 1};
  ours.entries[1].bootstrap = {2, 2, 1, 2};
  ours.entries[2].bootstrap = {1, 1, 2, 3};
  Consistency c = compare_leaderboards(ours, ref);
  ASSERT_TRUE(c.spearman_ci);
  EXPECT_FALSE(c.spearman_ci->paired);  // the reference has no rounds: its point ratings
  EXPECT_EQ(c.spearman_ci->rounds, 4);
  // Per-round rho: 1, 1, 0.5, -1 -> median 0.75; numpy quantile 0.025 of (-1, .5, 1, 1) = -0.8875.
  EXPECT_NEAR(c.spearman_ci->median, 0.75, 1e-12);
  EXPECT_NEAR(c.spearman_ci->low, -1 + 0.075 * 1.5, 1e-12);
  EXPECT_NEAR(c.spearman_ci->high, 1.0, 1e-12);
  // Paired: the reference's rounds are used round by round; a NaN round is skipped.
  for (auto& e : ref.entries) e.bootstrap = {e.elo, e.elo, e.elo, e.elo};
  ours.entries[2].bootstrap[3] = std::numeric_limits<double>::quiet_NaN();
  c = compare_leaderboards(ours, ref);
  EXPECT_TRUE(c.spearman_ci->paired);
  EXPECT_EQ(c.spearman_ci->rounds, 3);
  EXPECT_NEAR(c.kendall_ci->median, 1.0, 1e-12);  // taus 1, 1, 1/3
}

}  // namespace
