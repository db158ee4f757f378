#include "arena/elo_run.h"

#include <chrono>
#include <limits>

#include "core/error.h"

namespace fw::arena {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Leaderboard one_leaderboard(const EloBattles& battles, const EloOptions& opts, const std::string& category,
                            EloTimings& tm) {
  auto t0 = Clock::now();
  const BattleTable table = tabulate_battles(battles, opts.ties, opts.bootstrap.threads);
  tm.tabulate += since(t0);

  Anchor anchor;
  if (!opts.anchor_model.empty()) {
    anchor.index = table.index_of(opts.anchor_model);
    anchor.rating = opts.anchor_elo;
    if (anchor.index < 0 && category.empty())
      throw_invalid("anchor model \"" + opts.anchor_model + "\" is in none of the battles",
                    {.key = "anchor", .hint = "MODEL=ELO with MODEL one of the battles' models"});
  }
  t0 = Clock::now();
  BradleyTerryFit fit = fit_battles(table, opts.bt, anchor);
  tm.fit += since(t0);

  t0 = Clock::now();
  BootstrapResult boot;
  if (opts.bootstrap.rounds > 0) {
    std::vector<double> warm = fit.elo;
    boot = bootstrap_elo(table, opts.bt, anchor, opts.bootstrap, warm);
  }
  tm.bootstrap += since(t0);

  t0 = Clock::now();
  const std::vector<double> online = online_elo(
      battles, {.k = opts.online_k, .scale = opts.bt.scale, .base = opts.bt.base, .init = opts.bt.init}, opts.ties);
  const PairwiseStats pw = pairwise_stats(table);
  tm.views += since(t0);

  Leaderboard lb;
  lb.category = category;
  const size_t p = table.models.size();
  for (size_t i = 0; i < p; ++i) {
    LeaderboardEntry e;
    e.model = table.models[i];
    e.mle_elo = fit.elo[i];
    e.online_elo = online[static_cast<size_t>(battles.index_of(e.model))];
    e.battles = pw.model_battles[i];
    e.win_rate = pw.model_win_rate[i];
    if (boot.rounds > 0) {
      e.elo = boot.median[i];
      e.ci_low = boot.ci_low[i];
      e.ci_high = boot.ci_high[i];
      e.bootstrap.resize(static_cast<size_t>(boot.rounds));
      for (int r = 0; r < boot.rounds; ++r) e.bootstrap[r] = boot.at(r, static_cast<int>(i));
    } else {
      e.elo = fit.elo[i];
      e.ci_low = e.ci_high = std::numeric_limits<double>::quiet_NaN();
    }
    lb.entries.push_back(std::move(e));
  }
  lb.pair_models = table.models;
  lb.pair_battles = pw.battles;
  lb.pair_win_rate = pw.win_rate;

  auto& md = lb.metadata;
  if (!category.empty()) md["category"] = category;
  md["battles"] = table.battles;
  md["models"] = static_cast<int64_t>(p);
  md["ties"] = tie_mode_name(opts.ties);
  if (opts.ties == TieMode::Drop) md["ties_dropped"] = table.ties_dropped;
  md["method"] = "bradley-terry-mle";
  md["scale"] = opts.bt.scale;
  md["base"] = opts.bt.base;
  md["init"] = opts.bt.init;
  md["l2"] = opts.bt.l2;
  md["fit_iterations"] = fit.iterations;
  md["fit_converged"] = fit.converged;
  md["bootstrap_rounds"] = opts.bootstrap.rounds;
  md["seed"] = opts.bootstrap.seed;
  md["online_k"] = opts.online_k;
  md["rating"] = opts.bootstrap.rounds > 0 ? "bootstrap median, 95% CI = 2.5/97.5 percentiles" : "MLE (no bootstrap)";
  if (anchor.index >= 0) md["anchor"] = {{"model", opts.anchor_model}, {"elo", opts.anchor_elo}};
  else if (!opts.anchor_model.empty()) md["anchor"] = nullptr;  // the anchor model is not in this category
  sort_leaderboard(lb);
  return lb;
}

}  // namespace

Leaderboard compute_leaderboard(const EloBattles& battles, const EloOptions& opts, EloTimings* timings) {
  EloTimings tm;
  Leaderboard lb = one_leaderboard(battles, opts, "", tm);
  if (opts.per_category) {
    const auto t0 = Clock::now();
    EloTimings inner;
    const std::vector<std::vector<size_t>> rows = battles_by_category(battles);
    for (size_t c = 0; c < battles.categories.size(); ++c) {  // sorted by name
      const auto ci = static_cast<int32_t>(c);
      lb.categories.push_back(one_leaderboard(category_battles(battles, ci, rows[c]), opts, battles.categories[c], inner));
    }
    tm.categories = since(t0);
  }
  if (timings) *timings = tm;
  return lb;
}

Leaderboard compute_leaderboard(const std::vector<Battle>& battles, const EloOptions& opts, EloTimings* timings) {
  return compute_leaderboard(to_elo_battles(battles), opts, timings);
}

}  // namespace fw::arena
