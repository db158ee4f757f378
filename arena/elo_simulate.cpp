#include "arena/elo_simulate.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace fw::arena {

std::vector<Battle> simulate_battles(const std::vector<std::string>& models, const std::vector<double>& true_elo,
                                     const SimulateOptions& opts) {
  if (models.size() < 2 || models.size() != true_elo.size())
    throw_invalid("simulate_battles needs >= 2 models, one rating each");
  const auto p = static_cast<int64_t>(models.size());
  std::vector<Battle> out;
  out.reserve(static_cast<size_t>(opts.battles));
  for (int64_t i = 0; i < opts.battles; ++i) {
    Rng rng = Rng::for_index(opts.seed, static_cast<uint64_t>(i), 0x51u);
    const int64_t a = rng.uniform_int(0, p - 1);
    int64_t b = rng.uniform_int(0, p - 2);
    if (b >= a) ++b;
    Battle x;
    x.question_id = "q" + std::to_string(i);
    x.model_a = models[a];
    x.model_b = models[b];
    x.judge = "simulated";
    x.tstamp = static_cast<double>(i);
    if (rng.bernoulli(opts.tie_rate)) {
      x.winner = rng.bernoulli(0.25) ? Winner::TieBothBad : Winner::Tie;
    } else {
      const double pa = 1 / (1 + std::pow(opts.base, (true_elo[b] - true_elo[a]) / opts.scale));
      x.winner = rng.bernoulli(pa) ? Winner::ModelA : Winner::ModelB;
    }
    if (!opts.categories.empty()) x.category = rng.pick(opts.categories);
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace fw::arena
