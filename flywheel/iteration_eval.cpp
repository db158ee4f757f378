// The evaluation step i<i>.eval: the offline test set reports (every model's Elo, eval.anchor
// pinned), the validation split chooses the snapshot that goes on (flywheel/evaluation.h).
#include <algorithm>
#include <cmath>

#include "core/hash.h"
#include "core/log.h"
#include "flywheel/evaluation.h"
#include "flywheel/report.h"
#include "flywheel/run_steps.h"

namespace fw::flywheel {
namespace {

EvalRequest eval_request(const RunContext& run, const std::string& battle_dir, const std::string& out_dir) {
  const FlywheelRecipe& r = run.recipe;
  EvalRequest req;
  req.models = r.competitors;
  for (const auto& s : run.snapshots) req.models.push_back(run.as_competitor(s));
  req.battle_dir = battle_dir;
  req.out_dir = out_dir;
  req.battle = run.battle_options();
  req.bootstrap = r.eval.bootstrap;
  req.seed = static_cast<uint64_t>(r.seed);
  req.anchor_model = eval_anchor_model(r);
  req.anchor_elo = r.eval.anchor.elo;
  return req;
}

nlohmann::json board_json(const arena::Leaderboard& lb) {
  auto board = nlohmann::json::array();
  for (const auto& e : lb.entries)
    board.push_back({{"model", e.model}, {"elo", e.elo}, {"ci_low", e.ci_low}, {"ci_high", e.ci_high},
                     {"battles", e.battles}, {"win_rate", e.win_rate}});
  return board;
}

// Each snapshot's win rate against each competitor (ties half), from the pairwise view.
nlohmann::json win_rates(const RunContext& run, const arena::Leaderboard& lb) {
  nlohmann::json out = nlohmann::json::object();
  const size_t n = lb.pair_models.size();
  auto index = [&](const std::string& m) {
    return static_cast<size_t>(std::find(lb.pair_models.begin(), lb.pair_models.end(), m) - lb.pair_models.begin());
  };
  if (lb.pair_win_rate.size() != n * n) return out;
  for (const auto& s : run.snapshots)
    for (const auto& c : run.recipe.competitors) {
      const size_t a = index(s.name), b = index(c.name);
      if (a < n && b < n && std::isfinite(lb.pair_win_rate[a * n + b])) out[s.name][c.name] = lb.pair_win_rate[a * n + b];
    }
  return out;
}

}  // namespace

Snapshot evaluate_iteration(RunContext& run, int64_t i, std::optional<Snapshot> iteration_start) {
  const FlywheelRecipe& r = run.recipe;
  const std::string id = "i" + std::to_string(i) + ".eval";
  // i0 only ranks; later evaluations also choose the snapshot that goes on, on the
  // validation split when there is one (else on the test set, which the report flags).
  const bool choose = iteration_start.has_value();
  const bool on_validation = choose && run.validates();
  std::string shas;
  for (const auto& s : run.snapshots) shas += s.name + ":" + s.sha + "\n";
  const nlohmann::json scale = {{"anchor", eval_anchor_model(r)}, {"anchor_elo", r.eval.anchor.elo},
                                {"validation", on_validation ? files_sha({run.validation_file()}) : ""}};
  const std::string inputs =
      sha256_hex(id + "\n" + shas + files_sha(r.eval.prompts) + run.judge_identity().dump() + scale.dump());
  if (!run.leader) return snapshot_from(run.wait_for(id).at("outputs").at("best"));
  if (run.manifest.begin(id, inputs)) return snapshot_from(run.manifest.outputs(id).at("best"));
  const EvalRequest req = eval_request(run, run.out + "/eval/battle", run.out + "/i" + std::to_string(i) + "/eval");
  log::info("flywheel: " + id + " — " + std::to_string(req.models.size()) + " models on the offline test set (" +
            std::to_string(run.test.size()) + " prompts)");
  const EvalResult res = evaluate(run.arena_setup, *run.judge, run.test, req);
  run.reached(id, "leaderboard");
  std::optional<EvalResult> val;
  if (on_validation) {
    const auto prompts = data::read_prompt_records({run.validation_file()});
    const EvalRequest vreq = eval_request(run, run.out + "/eval/validation", req.out_dir + "/validation");
    log::info("flywheel: " + id + " — the same models on the validation split (" + std::to_string(prompts.size()) +
              " prompts), to choose the snapshot that goes on");
    val = evaluate(run.arena_setup, *run.judge, prompts, vreq);
    run.reached(id, "validation");
  }
  // The best of this iteration's snapshots (its starting model included) goes on.
  Snapshot best = run.snapshots.back();
  nlohmann::json candidates = nlohmann::json::array();
  if (choose) {
    std::vector<std::string> names = {iteration_start->name};
    for (const auto& s : run.snapshots)
      if (s.iteration == i) names.push_back(s.name);
    const std::string pick = choose_best(names, on_validation ? val->leaderboard : res.leaderboard);
    best = *iteration_start;
    for (const auto& s : run.snapshots)
      if (s.name == pick) best = s;
    candidates = names;
  }
  auto snaps = nlohmann::json::array();
  for (const auto& s : run.snapshots) snaps.push_back(snapshot_json(s));
  nlohmann::json outputs = {{"best", snapshot_json(best)}, {"leaderboard", board_json(res.leaderboard)},
                            {"snapshots", snaps}, {"win_rates", win_rates(run, res.leaderboard)},
                            {"leaderboard_dir", req.out_dir}, {"battles", res.battles.to_json()},
                            {"anchor", {{"model", req.anchor_model}, {"elo", req.anchor_elo}}}};
  if (choose) {
    outputs["chosen_by"] = on_validation ? "validation" : "test";
    outputs["candidates"] = candidates;
  }
  if (val)
    outputs["validation"] = {{"leaderboard", board_json(val->leaderboard)}, {"prompts", r.eval.validation_prompts},
                             {"leaderboard_dir", req.out_dir + "/validation"}, {"battles", val->battles.to_json()}};
  run.manifest.finish(id, outputs);
  std::string line;
  for (const auto& e : res.leaderboard.entries) line += "  " + e.model + " " + std::to_string(static_cast<int>(e.elo));
  log::info("flywheel: " + id + " — test Elo (" + req.anchor_model + " pinned at " +
            std::to_string(static_cast<int>(req.anchor_elo)) + "):" + line +
            (choose ? "; next: " + best.name + " (chosen on the " + (on_validation ? "validation split" : "test set") + ")" : ""));
  write_report(run.out, run.manifest.json(), r);
  return best;
}

}  // namespace fw::flywheel
