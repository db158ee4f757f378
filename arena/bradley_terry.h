// Bradley–Terry maximum-likelihood Elo, as LMSYS's FastChat computes it (compute_mle_elo in
// fastchat/serve/monitor/elo_analysis.py; DESIGN.md §1): P(a beats b) =
// 1 / (1 + base^((R_b - R_a) / scale)), scale 400, base 10, the ratings centred so that
// their mean is 1000 (the minimum-norm solution scikit-learn's LogisticRegression finds
// without an intercept), then shifted so an anchor model has a given rating.
//
// FastChat counts a battle twice: a win as two wins, a tie (and "tie (bothbad)") as one
// win for each side, i.e. a tie is half a win for each side; TieMode::Drop leaves ties out.
// Only the wins per ordered pair matter to the likelihood, so battles are first
// deduplicated into rows (a, b, outcome) with counts (the sample weights), and the fit runs
// on a dense p x p matrix of pair wins.
//
// The fit is Newton's method on the concave log-likelihood (the Hessian is the weighted
// graph Laplacian, p x p, solved by Cholesky) — the full step when it moves every pair's
// difference by less than 0.5 (then it provably increases the likelihood), else a
// backtracking line search — and a tiny ridge (default 1e-8 on the natural-log-odds
// strengths; scikit-learn's C = 1e6 with FastChat's doubled weights is 9.4e-8) so an
// undefeated model still gets a finite rating.
// It stops when the largest step is below `tol` Elo (default 1e-7), or when the steps
// converge quadratically and predict the next one below tol / 10.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arena/battle_record.h"
#include "arena/elo_battles.h"

namespace fw::arena {

enum class TieMode { Half, Drop };

const char* tie_mode_name(TieMode m);  // "half" | "drop"
// Throws fw::Error (InvalidInput) for anything else.
TieMode tie_mode_from_name(const std::string& name);

enum class Outcome : uint8_t { AWins = 0, BWins = 1, Tie = 2 };

// Every battle between models a < b (indices into BattleTable::models) with one outcome,
// seen from a ("AWins" = a won, whichever side a was shown on).
struct OutcomeRow {
  int32_t a = 0, b = 0;
  Outcome outcome = Outcome::Tie;
  double count = 0;  // number of battles (a sample weight; a bootstrap draw may give 0)
};

struct BattleTable {
  std::vector<std::string> models;  // every model in the battles, sorted by name
  std::vector<OutcomeRow> rows;     // unique (a, b, outcome), sorted; counts > 0
  int64_t battles = 0;              // battles in the rows (ties dropped are not counted)
  int64_t ties_dropped = 0;         // TieMode::Drop: ties left out
  int index_of(const std::string& model) const;  // -1 if absent
};

// Deduplicates battles into rows. "tie" and "tie (bothbad)" are both ties. The table's
// models are those that battle, in sorted order. `threads` (0 = all cores) share the
// counting; the table is the same for any count.
BattleTable tabulate_battles(const EloBattles& battles, TieMode ties, int threads = 1);
BattleTable tabulate_battles(const std::vector<Battle>& battles, TieMode ties);

// Wins per ordered pair, p x p row-major: wins[i * p + j] = battles i won against j, a tie
// adding 0.5 to both. `counts` (one per row, e.g. a bootstrap draw) replaces the rows'
// own counts when given.
std::vector<double> pair_wins(const BattleTable& table, const std::vector<double>* counts = nullptr);

struct BradleyTerryOptions {
  double scale = 400;   // Elo points per factor `base` in the odds
  double base = 10;
  double init = 1000;   // the mean rating (before the anchor shift)
  double l2 = 1e-8;     // ridge on the strengths in natural log-odds units (>= 0)
  double tol = 1e-7;    // stop when the largest Newton step is below this, in Elo
  int max_iter = 200;
};

// The model `index` pinned to `rating` (FastChat: Llama-2-70B-Chat = 1100); index -1 = none.
struct Anchor {
  int index = -1;
  double rating = 0;
};

struct BradleyTerryFit {
  std::vector<double> elo;  // one per model; NaN for a model with no battles
  int iterations = 0;
  bool converged = false;
};

// Fits the p models to `wins` (pair_wins' layout). `warm` (Elo, one per model, may hold
// NaNs) starts Newton near the answer, e.g. the full-data fit for a bootstrap round.
BradleyTerryFit fit_bradley_terry(int p, const std::vector<double>& wins, const BradleyTerryOptions& opts,
                                  const std::vector<double>* warm = nullptr);

// Shifts every rating so elo[anchor.index] == anchor.rating (no-op for index -1 or a NaN).
void apply_anchor(std::vector<double>& elo, const Anchor& anchor);

// Convenience: tabulate, fit and anchor in one call.
BradleyTerryFit fit_battles(const BattleTable& table, const BradleyTerryOptions& opts, const Anchor& anchor = {});

}  // namespace fw::arena
