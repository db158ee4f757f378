// Battles simulated from known Bradley–Terry strengths, for tests, parity checks and the
// benchmark: each battle draws a pair uniformly (and which side is model_a), then a tie
// with probability `tie_rate` ("tie" or, one time in four, "tie (bothbad)"), else a winner
// with P(a wins) = 1 / (1 + base^((R_b - R_a) / scale)). Deterministic given the seed
// (battle i uses Rng::for_index(seed, i)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arena/battle_record.h"

namespace fw::arena {

struct SimulateOptions {
  int64_t battles = 1000;
  double tie_rate = 0;
  uint64_t seed = 0;
  double scale = 400, base = 10;
  std::vector<std::string> categories;  // each battle gets one at random; empty = none
};

// models[i] has rating true_elo[i].
std::vector<Battle> simulate_battles(const std::vector<std::string>& models, const std::vector<double>& true_elo,
                                     const SimulateOptions& opts);

}  // namespace fw::arena
