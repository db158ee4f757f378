#include "arena/elo_views.h"

#include <cmath>
#include <limits>
#include <algorithm>

#include "core/error.h"

namespace fw::arena {

std::vector<double> online_elo(const EloBattles& battles, const OnlineEloOptions& opts, TieMode ties) {
  std::vector<double> rating(battles.models.size(), opts.init);
  for (size_t i = 0; i < battles.size(); ++i) {
    const Winner w = battles.winner[i];
    double sa = 0.5;
    if (w == Winner::ModelA) sa = 1;
    else if (w == Winner::ModelB) sa = 0;
    else if (ties == TieMode::Drop) continue;
    const uint32_t a = battles.model_a[i], c = battles.model_b[i];
    const double ra = rating[a], rb = rating[c];
    // FastChat's arithmetic, term for term (so the results agree to the last bit).
    const double ea = 1 / (1 + std::pow(opts.base, (rb - ra) / opts.scale));
    const double eb = 1 / (1 + std::pow(opts.base, (ra - rb) / opts.scale));
    rating[a] += opts.k * (sa - ea);
    rating[c] += opts.k * (1 - sa - eb);
  }
  return rating;
}

std::vector<double> online_elo(const std::vector<Battle>& battles, const std::vector<std::string>& models,
                               const OnlineEloOptions& opts, TieMode ties) {
  const EloBattles columns = to_elo_battles(battles);
  for (const auto& m : columns.models)
    if (!std::binary_search(models.begin(), models.end(), m))
      throw_invalid("online_elo: battle names a model outside the table: \"" + m + "\"");
  const std::vector<double> by_id = online_elo(columns, opts, ties);
  std::vector<double> rating(models.size(), opts.init);
  for (size_t i = 0; i < models.size(); ++i)
    if (const int id = columns.index_of(models[i]); id >= 0) rating[i] = by_id[static_cast<size_t>(id)];
  return rating;
}

PairwiseStats pairwise_stats(const BattleTable& table) {
  PairwiseStats s;
  const size_t p = table.models.size();
  s.models = static_cast<int>(p);
  s.battles.assign(p * p, 0);
  std::vector<double> wins(p * p, 0.0);
  for (const OutcomeRow& r : table.rows) {
    const size_t a = static_cast<size_t>(r.a), b = static_cast<size_t>(r.b);
    const auto n = static_cast<int64_t>(r.count);
    s.battles[a * p + b] += n;
    s.battles[b * p + a] += n;
    const double wa = r.outcome == Outcome::AWins ? 1.0 : r.outcome == Outcome::BWins ? 0.0 : 0.5;
    wins[a * p + b] += wa * r.count;
    wins[b * p + a] += (1 - wa) * r.count;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.win_rate.assign(p * p, nan);
  s.model_battles.assign(p, 0);
  s.model_win_rate.assign(p, nan);
  for (size_t i = 0; i < p; ++i) {
    double w = 0;
    for (size_t j = 0; j < p; ++j) {
      const int64_t n = s.battles[i * p + j];
      if (n > 0) s.win_rate[i * p + j] = wins[i * p + j] / static_cast<double>(n);
      s.model_battles[i] += n;
      w += wins[i * p + j];
    }
    if (s.model_battles[i] > 0) s.model_win_rate[i] = w / static_cast<double>(s.model_battles[i]);
  }
  return s;
}

}  // namespace fw::arena
