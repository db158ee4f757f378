// The secondary views of a battle set, beside Bradley–Terry (DESIGN.md §5):
//   - online Elo, FastChat's compute_online_elo: every model starts at `init`, battles are
//     played in the order given, K = 4: R_a += K (S_a - E_a), R_b += K (1 - S_a - E_b),
//     E_a = 1 / (1 + base^((R_b - R_a) / scale)), S_a = 1 / 0 / 0.5 for a win / loss / tie.
//     Order-dependent by design (it is what the live arena showed before the MLE).
//   - pairwise statistics: battles per pair and the row model's win rate against the
//     column model, ties counted as half a win (FastChat's win-fraction heat map).
//   - per-model totals: battles and overall win rate (ties half).
// TieMode::Drop leaves ties out of every view, as it does for the MLE.
#pragma once

#include <cstdint>
#include <vector>

#include "arena/battle_record.h"
#include "arena/elo_battles.h"
#include "arena/bradley_terry.h"

namespace fw::arena {

struct OnlineEloOptions {
  double k = 4;
  double scale = 400, base = 10, init = 1000;
};

// One rating per model of battles.models.
std::vector<double> online_elo(const EloBattles& battles, const OnlineEloOptions& opts, TieMode ties = TieMode::Half);
// One rating per model of `models` (sorted names, BattleTable::models); a model with no
// battle keeps `init`. Throws fw::Error (InvalidInput) for a battle naming another model.
std::vector<double> online_elo(const std::vector<Battle>& battles, const std::vector<std::string>& models,
                               const OnlineEloOptions& opts, TieMode ties = TieMode::Half);

struct PairwiseStats {
  int models = 0;
  std::vector<int64_t> battles;   // models x models, symmetric, 0 on the diagonal
  std::vector<double> win_rate;   // models x models: row's (wins + ties / 2) / battles; NaN if none
  std::vector<int64_t> model_battles;  // per model
  std::vector<double> model_win_rate;  // per model, over all its battles; NaN if none
};

// From the deduplicated rows (integer counts).
PairwiseStats pairwise_stats(const BattleTable& table);

}  // namespace fw::arena
