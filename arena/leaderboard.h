// A leaderboard and its three files (DESIGN.md §4):
//
//   leaderboard.json  {"format": "flywheel.leaderboard/1",
//                      "metadata": {battles, models, ties, bootstrap_rounds, seed, anchor,
//                                   scale, base, init, online_k, category, sources, ...},
//                      "models": [{"rank", "model", "elo", "ci_low", "ci_high", "battles",
//                                  "win_rate", "online_elo", "mle_elo",
//                                  "bootstrap": [Elo per round, null = absent]}, ...],
//                      "pairwise": {"models": [...], "battles": [[...]],
//                                   "win_rate": [[row vs column, ties half; null = none]]},
//                      "categories": [{"category", "battles", "models": [...]}, ...]}
//                     "models" is sorted by elo (descending); elo is the bootstrap median
//                     (the MLE itself when there is no bootstrap), ci_* its 2.5 / 97.5 %
//                     percentiles.
//   leaderboard.md    the table (and one per category)
//   leaderboard.html  self-contained (no external assets): the table with an inline SVG CI
//                     bar per model, the win-rate matrix as a heat map, per-category tables
//
// read_leaderboard also takes a plain JSON array of entries, or an object whose
// "models" / "leaderboard" key holds one, so a reference leaderboard from elsewhere (say
// the human arena's Elo with CIs) can be written by hand: only "model" and "elo" are
// required; without ci_low / ci_high the CI-based consistency metrics are not computed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fw::arena {

struct LeaderboardEntry {
  std::string model;
  double elo = 0;       // bootstrap median, or the MLE without bootstrap
  double ci_low = 0;    // 2.5 % percentile (NaN when unknown)
  double ci_high = 0;   // 97.5 % percentile (NaN when unknown)
  double mle_elo = 0;   // the MLE on all battles (NaN when unknown)
  double online_elo = 0;  // NaN when unknown
  int64_t battles = 0;
  double win_rate = 0;  // (wins + ties / 2) / battles; NaN when unknown
  std::vector<double> bootstrap;  // per-round ratings, NaN = absent in that round; may be empty
};

struct Leaderboard {
  std::string category;                  // empty for the overall leaderboard
  std::vector<LeaderboardEntry> entries;  // sorted by elo, descending
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
  // Pairwise statistics over pair_models (entries' order), n x n row-major; may be empty.
  std::vector<std::string> pair_models;
  std::vector<int64_t> pair_battles;
  std::vector<double> pair_win_rate;     // NaN where a pair never met
  std::vector<Leaderboard> categories;   // per-category leaderboards (overall only)
};

// Sorts entries by elo (descending; ties by name) and reorders the pairwise matrices to match.
void sort_leaderboard(Leaderboard& lb);

nlohmann::ordered_json leaderboard_to_json(const Leaderboard& lb, bool with_bootstrap = true);
// Errors name the file (and the entry's index in the key).
Leaderboard leaderboard_from_json(const nlohmann::json& j, const std::string& file);
Leaderboard read_leaderboard(const std::string& path);

std::string leaderboard_markdown(const Leaderboard& lb);  // with the per-category tables
std::string leaderboard_html(const Leaderboard& lb);

// Writes DIR/leaderboard.{json,md,html} and, per category, DIR/categories/<slug>/
// leaderboard.{json,md} (slug: the name with anything but [A-Za-z0-9._-] as '_').
// Returns the paths written.
std::vector<std::string> write_leaderboard_files(const Leaderboard& lb, const std::string& dir);

std::string category_slug(const std::string& category);

}  // namespace fw::arena
