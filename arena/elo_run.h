// From battles to a leaderboard: deduplicate, fit Bradley–Terry on all battles, bootstrap
// the CIs, add the online-Elo and pairwise views, and do the same per category
// (Battle::category; battles without one only count overall). What `flywheel elo` runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "arena/battle_record.h"
#include "arena/elo_battles.h"
#include "arena/bradley_terry.h"
#include "arena/elo_bootstrap.h"
#include "arena/elo_views.h"
#include "arena/leaderboard.h"

namespace fw::arena {

struct EloOptions {
  BradleyTerryOptions bt;
  BootstrapOptions bootstrap;
  TieMode ties = TieMode::Half;
  double online_k = 4;
  std::string anchor_model;  // empty = no anchor (the mean rating is bt.init)
  double anchor_elo = 1100;
  bool per_category = true;
};

// Seconds spent per phase (the last call's; categories summed into `categories`).
struct EloTimings {
  double tabulate = 0, fit = 0, bootstrap = 0, views = 0, categories = 0;
};

// Throws fw::Error (InvalidInput, key "anchor") if the anchor model never battles. A
// category whose battles lack the anchor model is left unanchored (its metadata says so).
Leaderboard compute_leaderboard(const EloBattles& battles, const EloOptions& opts, EloTimings* timings = nullptr);
Leaderboard compute_leaderboard(const std::vector<Battle>& battles, const EloOptions& opts,
                                EloTimings* timings = nullptr);

}  // namespace fw::arena
