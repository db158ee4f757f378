#include "flywheel/evaluation.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "arena/elo_input.h"
#include "arena/elo_run.h"
#include "core/log.h"

namespace fw::flywheel {

EvalResult evaluate(arena::ArenaSetup& setup, arena::Judge& judge, const std::vector<data::PromptRecord>& test,
                    const EvalRequest& req) {
  auto owned = setup.competitors(req.models);
  std::vector<arena::Competitor*> models;
  for (auto& m : owned) models.push_back(m.get());
  arena::BattleRunOptions o = req.battle;
  o.out_dir = req.battle_dir;
  o.pairs = arena::PairMode::AllPairs;
  EvalResult r;
  r.battles = arena::run_battles(test, models, judge, o);

  arena::EloOptions elo;
  elo.bootstrap.rounds = static_cast<int>(req.bootstrap);
  elo.bootstrap.seed = req.seed;
  elo.anchor_model = req.anchor_model;
  elo.anchor_elo = req.anchor_elo;
  r.leaderboard = arena::compute_leaderboard(arena::read_elo_battles(req.battle_dir + "/battles.jsonl"), elo);
  std::filesystem::create_directories(req.out_dir);
  arena::write_leaderboard_files(r.leaderboard, req.out_dir);
  return r;
}

std::string choose_best(const std::vector<std::string>& candidates, const arena::Leaderboard& board) {
  auto elo = [&](const std::string& m) {
    for (const auto& e : board.entries)
      if (e.model == m && std::isfinite(e.elo)) return e.elo;
    return -std::numeric_limits<double>::infinity();
  };
  std::string best = candidates.at(0);
  for (const auto& c : candidates)
    if (elo(c) > elo(best)) best = c;
  return best;
}

}  // namespace fw::flywheel
