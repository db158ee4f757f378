#include "flywheel/stage_gate.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"

namespace fw::flywheel {

GateAction gate_action_from_name(const std::string& name) { return enum_from_name_or_throw<GateAction>(name, "gate.on_fail"); }

std::string gate_action_name(GateAction action) { return std::string(name_of(action)); }

nlohmann::json GateCheck::to_json() const {
  return {{"prompts", prompts}, {"wins", wins},       {"losses", losses},   {"ties", ties},
          {"win_rate", win_rate}, {"ci_low", ci_low}, {"ci_high", ci_high}, {"passed", passed}};
}

GateCheck gate_check(const std::vector<arena::Battle>& battles, const std::string& output, const std::string& input,
                     double min_win_rate, int64_t rounds, uint64_t seed) {
  // Each battle's points for the output: 1 a win, 0.5 a tie (of either kind), 0 a loss.
  std::vector<double> points;
  GateCheck g;
  for (const arena::Battle& b : battles) {
    const bool out_is_a = b.model_a == output && b.model_b == input;
    const bool out_is_b = b.model_b == output && b.model_a == input;
    if (!out_is_a && !out_is_b) continue;
    const bool won = b.winner == (out_is_a ? arena::Winner::ModelA : arena::Winner::ModelB);
    const bool lost = b.winner == (out_is_a ? arena::Winner::ModelB : arena::Winner::ModelA);
    g.wins += won;
    g.losses += lost;
    g.ties += !won && !lost;
    points.push_back(won ? 1.0 : lost ? 0.0 : 0.5);
  }
  g.prompts = static_cast<int64_t>(points.size());
  if (points.empty()) return g;
  double sum = 0;
  for (double p : points) sum += p;
  g.win_rate = sum / static_cast<double>(points.size());
  g.passed = g.win_rate > min_win_rate;
  // Percentile bootstrap over the battles (prompts), as the Elo intervals.
  std::vector<double> rates;
  Rng rng(seed);
  const int64_t n = static_cast<int64_t>(points.size());
  for (int64_t r = 0; r < rounds; ++r) {
    double s = 0;
    for (int64_t k = 0; k < n; ++k) s += points[static_cast<size_t>(rng.uniform_int(0, n - 1))];
    rates.push_back(s / static_cast<double>(n));
  }
  if (rates.empty()) {
    g.ci_low = g.ci_high = g.win_rate;
    return g;
  }
  std::sort(rates.begin(), rates.end());
  auto quantile = [&](double q) {  // linear interpolation, as numpy's default
    const double pos = q * static_cast<double>(rates.size() - 1);
    const auto lo = static_cast<size_t>(pos);
    const size_t hi = std::min(lo + 1, rates.size() - 1);
    return rates[lo] + (pos - static_cast<double>(lo)) * (rates[hi] - rates[lo]);
  };
  g.ci_low = quantile(0.025);
  g.ci_high = quantile(0.975);
  return g;
}

}  // namespace fw::flywheel
