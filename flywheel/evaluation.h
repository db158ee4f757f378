// The flywheel's offline evaluation: every model (the competitors and every target
// snapshot so far) battles every other on a prompt set (the offline test set, or the
// validation split) with the same judge, in one battle folder per set shared by all
// iterations (pairs already played are never replayed), then Bradley–Terry Elo with
// bootstrap CIs, one model pinned (eval.anchor) so the evaluations share one scale.
#pragma once

#include <string>
#include <vector>

#include "arena/arena_setup.h"
#include "arena/battle_runner.h"
#include "arena/leaderboard.h"

namespace fw::flywheel {

struct EvalRequest {
  std::vector<arena::CompetitorSection> models;  // competitors first, then snapshots in order
  std::string battle_dir;                        // shared across iterations
  std::string out_dir;                           // this evaluation's leaderboard files
  arena::BattleRunOptions battle;                // verdict, chunking, record_time (out_dir set here)
  int64_t bootstrap = 100;
  uint64_t seed = 0;
  std::string anchor_model;  // pinned at anchor_elo in every fit; empty = none (mean 1000)
  double anchor_elo = 1000;
};

struct EvalResult {
  arena::Leaderboard leaderboard;
  arena::BattleRunSummary battles;
};

EvalResult evaluate(arena::ArenaSetup& setup, arena::Judge& judge, const std::vector<data::PromptRecord>& test,
                    const EvalRequest& req);

// The candidate with the highest Elo on `board` (the earlier one on a tie, so the
// iteration's starting model stays unless a stage beats it); a candidate missing from the
// board never wins over one on it. `candidates` must not be empty.
std::string choose_best(const std::vector<std::string>& candidates, const arena::Leaderboard& board);

}  // namespace fw::flywheel
