// Consistency of our leaderboard with a reference one (DESIGN.md §1, the Arena-Hard
// definitions), over the models both list (matched by name; the others are reported and
// left out):
//   - Spearman's rho: Pearson correlation of the ranks (ties get their average rank);
//   - Kendall's tau-b: (concordant - discordant) / sqrt((n0 - ties_ours)(n0 - ties_ref));
//   - agreement with confidence: over the pairs the reference separates with confidence
//     (their 95 % CIs do not overlap), the mean of +1 where our CIs separate them the same
//     way, -1 where ours separate them the other way, 0 where ours overlap;
//   - separability: the share of all pairs whose CIs do not overlap in our leaderboard
//     (also reported for the reference).
// Two CIs [l1, h1], [l2, h2] overlap when l1 <= h2 and l2 <= h1; model 1 is separated
// above model 2 when l1 > h2.
//
// Bootstrap intervals: rho and tau-b get a 95 % interval (2.5 / 97.5 percentiles, and the
// median) when our leaderboard carries per-round ratings ("bootstrap"): round r of ours
// is compared with round r of the reference when the reference carries as many rounds,
// else with the reference's point ratings (then the interval reflects our uncertainty
// only). Rounds where a common model is absent (NaN) are skipped. Agreement and
// separability are defined on the CIs themselves and have no interval.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "arena/leaderboard.h"

namespace fw::arena {

// Ranks, 1 = the largest value; tied values share their average rank.
std::vector<double> average_ranks(const std::vector<double>& values);
double spearman(const std::vector<double>& x, const std::vector<double>& y);  // NaN if n < 2 or constant
double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);

struct Interval {
  double median = 0, low = 0, high = 0;
  int rounds = 0;  // rounds used
  bool paired = false;  // true: round r of ours vs round r of the reference
};

struct Consistency {
  std::vector<std::string> common;          // in our order
  std::vector<std::string> only_ours, only_reference;
  double spearman = 0, kendall = 0;          // NaN with fewer than 2 common models
  std::optional<Interval> spearman_ci, kendall_ci;
  // Agreement: nullopt when either side lacks CIs or the reference separates no pair.
  std::optional<double> agreement;
  int64_t confident_pairs = 0;               // pairs the reference separates
  int64_t agree = 0, disagree = 0, undecided = 0;
  std::optional<double> separability;        // ours; nullopt without CIs
  std::optional<double> reference_separability;
  int64_t pairs = 0;                         // common pairs, n (n - 1) / 2
};

Consistency compare_leaderboards(const Leaderboard& ours, const Leaderboard& reference);

nlohmann::ordered_json consistency_to_json(const Consistency& c);
std::string consistency_text(const Consistency& c);  // a short human-readable summary

}  // namespace fw::arena
