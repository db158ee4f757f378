// Bootstrap confidence intervals for Bradley–Terry Elo (DESIGN.md §1: 100 rounds, the median
// as the score, the 2.5 / 97.5 percentiles as the 95 % CI), as FastChat / Arena-Hard's
// get_bootstrap_result does: each round refits on a resample of all N battles with
// replacement. Resampling N battles and deduplicating them gives the rows a
// Multinomial(N, count_r / N) draw of counts, so a round draws that directly (a tree of
// binomials, O(unique rows)) instead of touching N battles.
//
// Reproducible: round r uses its own stream Rng::for_index(seed, r), and rounds run on
// `threads` std::threads that only write their own rows of the result, so the result is
// the same for every thread count. A model with no battles in a round is NaN there (the
// whole round when it is the anchor model); the quantiles skip NaNs (as pandas does).
#pragma once

#include <cstdint>
#include <vector>

#include "arena/bradley_terry.h"
#include "core/rng.h"

namespace fw::arena {

struct BootstrapOptions {
  int rounds = 100;   // >= 0; 0 = no bootstrap
  uint64_t seed = 0;
  int threads = 0;    // 0 = std::thread::hardware_concurrency()
};

struct BootstrapResult {
  int rounds = 0, models = 0;
  std::vector<double> elo;  // rounds x models, row-major (anchored as the point fit is)
  std::vector<double> median, ci_low, ci_high;  // per model: quantiles 0.5, 0.025, 0.975
  double at(int round, int model) const { return elo[static_cast<size_t>(round) * models + model]; }
};

// `warm` is the full-data fit (Elo per model) each round starts Newton from.
BootstrapResult bootstrap_elo(const BattleTable& table, const BradleyTerryOptions& bt, const Anchor& anchor,
                              const BootstrapOptions& opts, const std::vector<double>& warm);

// One exact Binomial(n, p) draw: inversion when n min(p, 1-p) < 10, else Hörmann's BTRS
// (transformed rejection with squeeze, 1993). Deterministic given the generator's state.
int64_t binomial(Rng& rng, int64_t n, double p);

// Multinomial(n, weights / sum(weights)) as a binary tree of binomials; out[i] = count of i.
// All weights zero: all counts zero.
void multinomial(Rng& rng, int64_t n, const std::vector<double>& weights, std::vector<double>& out);

// Quantile q in [0, 1] with linear interpolation between order statistics (numpy's and
// pandas' default), ignoring NaNs; NaN if nothing is left.
double quantile(std::vector<double> values, double q);

}  // namespace fw::arena
