// The flywheel's offline evaluation: every model (the competitors and every target
// snapshot so far) battles every other on the offline test set with the same judge, in
// one battle folder shared by all iterations (pairs already played are never replayed),
// then Bradley–Terry Elo with bootstrap CIs.
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
};

struct EvalResult {
  arena::Leaderboard leaderboard;
  arena::BattleRunSummary battles;
};

EvalResult evaluate(arena::ArenaSetup& setup, arena::Judge& judge, const std::vector<data::PromptRecord>& test,
                    const EvalRequest& req);

}  // namespace fw::flywheel
