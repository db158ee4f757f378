#include "arena/bradley_terry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "core/error.h"

namespace fw::arena {

const char* tie_mode_name(TieMode m) { return m == TieMode::Drop ? "drop" : "half"; }

TieMode tie_mode_from_name(const std::string& name) {
  if (name == "half") return TieMode::Half;
  if (name == "drop") return TieMode::Drop;
  throw_invalid("unknown tie mode \"" + name + "\"", {.key = "ties", .hint = "half | drop"});
}

int BattleTable::index_of(const std::string& model) const {
  auto it = std::lower_bound(models.begin(), models.end(), model);
  return it != models.end() && *it == model ? static_cast<int>(it - models.begin()) : -1;
}

BattleTable tabulate_battles(const std::vector<Battle>& battles, TieMode ties, int threads) {
  BattleTable t;
  // Each thread takes a contiguous share of the battles: provisional model ids in order of
  // appearance, one packed (a, b, outcome) code per battle. Then the names are merged and
  // sorted, every provisional id mapped to its final one, and the codes counted; the
  // counts are integers, so the table is the same for any thread count.
  struct Part {
    std::unordered_map<std::string_view, uint32_t> ids;
    std::vector<std::string_view> names;
    std::vector<uint64_t> codes;  // a << 34 | b << 2 | outcome (provisional ids)
    int64_t ties_dropped = 0;
  };
  int n_parts = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  n_parts = static_cast<int>(std::clamp<size_t>(static_cast<size_t>(std::max(1, n_parts)), 1, battles.size() / 65536 + 1));
  std::vector<Part> parts(static_cast<size_t>(n_parts));
  auto tabulate_part = [&](int k) {
    Part& part = parts[static_cast<size_t>(k)];
    const size_t lo = battles.size() * k / n_parts, hi = battles.size() * (k + 1) / n_parts;
    part.codes.reserve(hi - lo);
    auto id = [&](const std::string& m) {
      auto [it, added] = part.ids.emplace(m, static_cast<uint32_t>(part.names.size()));
      if (added) part.names.push_back(m);
      return it->second;
    };
    for (size_t i = lo; i < hi; ++i) {
      const Battle& b = battles[i];
      const uint64_t a = id(b.model_a), c = id(b.model_b);
      const Outcome o =
          b.winner == Winner::ModelA ? Outcome::AWins : b.winner == Winner::ModelB ? Outcome::BWins : Outcome::Tie;
      if (o == Outcome::Tie && ties == TieMode::Drop) {
        ++part.ties_dropped;
        continue;
      }
      part.codes.push_back(a << 34 | c << 2 | static_cast<uint64_t>(o));
    }
  };
  {
    std::vector<std::thread> pool;
    for (int k = 1; k < n_parts; ++k) pool.emplace_back(tabulate_part, k);
    tabulate_part(0);
    for (auto& th : pool) th.join();
  }
  std::vector<std::string_view> all;
  for (const Part& part : parts) all.insert(all.end(), part.names.begin(), part.names.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  for (const auto& name : all) t.models.emplace_back(name);
  std::vector<std::vector<uint32_t>> final_ids(parts.size());
  for (size_t k = 0; k < parts.size(); ++k) {
    t.ties_dropped += parts[k].ties_dropped;
    for (const auto& name : parts[k].names)
      final_ids[k].push_back(static_cast<uint32_t>(std::lower_bound(all.begin(), all.end(), name) - all.begin()));
  }
  const uint64_t p = t.models.size();
  // Count per key (a p + b) 3 + outcome with a < b: a dense array while p is small, else a map.
  const bool dense = p * p * 3 <= (uint64_t{1} << 24);
  std::vector<int64_t> dense_counts(dense ? p * p * 3 : 0, 0);
  std::unordered_map<uint64_t, int64_t> sparse_counts;
  for (size_t k = 0; k < parts.size(); ++k) {
    const std::vector<uint32_t>& final_id = final_ids[k];
    for (const uint64_t code : parts[k].codes) {
      uint64_t a = final_id[code >> 34], c = final_id[(code >> 2) & 0xffffffffu];
      auto o = static_cast<Outcome>(code & 3);
      if (a > c) {  // canonical orientation: the lower id first, the outcome seen from it
        std::swap(a, c);
        if (o != Outcome::Tie) o = o == Outcome::AWins ? Outcome::BWins : Outcome::AWins;
      }
      const uint64_t key = (a * p + c) * 3 + static_cast<uint64_t>(o);
      if (dense) ++dense_counts[key];
      else ++sparse_counts[key];
    }
  }
  for (const Part& part : parts) t.battles += static_cast<int64_t>(part.codes.size());
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  if (dense) {
    for (uint64_t k = 0; k < dense_counts.size(); ++k)
      if (dense_counts[k]) keyed.emplace_back(k, dense_counts[k]);
  } else {
    keyed.assign(sparse_counts.begin(), sparse_counts.end());
    std::sort(keyed.begin(), keyed.end());
  }
  t.rows.reserve(keyed.size());
  for (const auto& [key, n] : keyed)
    t.rows.push_back({static_cast<int32_t>(key / 3 / p), static_cast<int32_t>(key / 3 % p),
                      static_cast<Outcome>(key % 3), static_cast<double>(n)});
  return t;
}

std::vector<double> pair_wins(const BattleTable& table, const std::vector<double>* counts) {
  const size_t p = table.models.size();
  std::vector<double> w(p * p, 0.0);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const OutcomeRow& row = table.rows[r];
    const double c = counts ? (*counts)[r] : row.count;
    if (c == 0) continue;
    const size_t a = static_cast<size_t>(row.a), b = static_cast<size_t>(row.b);
    switch (row.outcome) {
      case Outcome::AWins: w[a * p + b] += c; break;
      case Outcome::BWins: w[b * p + a] += c; break;
      case Outcome::Tie:
        w[a * p + b] += 0.5 * c;
        w[b * p + a] += 0.5 * c;
        break;
    }
  }
  return w;
}

namespace {

// log(sigmoid(x)), stable for large |x|.
double log_sigmoid(double x) { return x < 0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x)); }

// x . y over n entries, four partial sums (instruction-level parallelism; a fixed order,
// so the result does not depend on anything but the inputs).
double dot(const double* x, const double* y, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += x[k] * y[k];
    s1 += x[k + 1] * y[k + 1];
    s2 += x[k + 2] * y[k + 2];
    s3 += x[k + 3] * y[k + 3];
  }
  for (; k < n; ++k) s0 += x[k] * y[k];
  return (s0 + s1) + (s2 + s3);
}

// In-place Cholesky of the m x m SPD matrix `a` (lower triangle), then solves a x = b.
// Returns false if `a` is not positive definite.
bool cholesky_solve(std::vector<double>& a, std::vector<double>& b, int m) {
  for (int j = 0; j < m; ++j) {
    double* aj = &a[static_cast<size_t>(j) * m];
    double d = aj[j] - dot(aj, aj, j);
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    aj[j] = d;
    for (int i = j + 1; i < m; ++i) {
      double* ai = &a[static_cast<size_t>(i) * m];
      ai[j] = (ai[j] - dot(ai, aj, j)) / d;
    }
  }
  for (int i = 0; i < m; ++i) {  // L y = b
    const double* ai = &a[static_cast<size_t>(i) * m];
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= ai[k] * b[k];
    b[i] = s / ai[i];
  }
  for (int i = m - 1; i >= 0; --i) {  // L^T x = y
    double s = b[i];
    for (int k = i + 1; k < m; ++k) s -= a[static_cast<size_t>(k) * m + i] * b[k];
    b[i] = s / a[static_cast<size_t>(i) * m + i];
  }
  return true;
}

}  // namespace

BradleyTerryFit fit_bradley_terry(int p, const std::vector<double>& wins, const BradleyTerryOptions& opts,
                                  const std::vector<double>* warm) {
  if (p < 0 || wins.size() != static_cast<size_t>(p) * p) throw_invalid("pair_wins matrix does not match the models");
  if (!(opts.scale > 0) || !(opts.base > 1)) throw_invalid("Elo scale must be > 0 and base > 1");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double elo_per_unit = opts.scale / std::log(opts.base);  // Elo per natural log-odds
  BradleyTerryFit fit;
  fit.elo.assign(p, nan);

  // Only models with battles take part; they are m of the p, listed in `idx`.
  std::vector<int> idx;
  for (int i = 0; i < p; ++i) {
    double n = 0;
    for (int j = 0; j < p; ++j) n += wins[static_cast<size_t>(i) * p + j] + wins[static_cast<size_t>(j) * p + i];
    if (n > 0) idx.push_back(i);
  }
  const int m = static_cast<int>(idx.size());
  if (m == 0) {
    fit.converged = true;
    return fit;
  }
  // Compressed pair statistics: for i < j, W[i][j] (i's wins) and N = W[i][j] + W[j][i].
  std::vector<double> W(static_cast<size_t>(m) * m), N(static_cast<size_t>(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) W[static_cast<size_t>(i) * m + j] = wins[static_cast<size_t>(idx[i]) * p + idx[j]];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) N[static_cast<size_t>(i) * m + j] = W[static_cast<size_t>(i) * m + j] + W[static_cast<size_t>(j) * m + i];

  std::vector<double> theta(m, 0.0);  // strengths, natural log-odds units, mean 0
  if (warm) {
    double mean = 0;
    int k = 0;
    for (int i = 0; i < m; ++i) {
      const double e = (*warm)[idx[i]];
      theta[i] = std::isfinite(e) ? (e - opts.init) / elo_per_unit : 0.0;
      mean += theta[i];
      ++k;
    }
    for (double& t : theta) t -= mean / k;
  }
  auto objective = [&](const std::vector<double>& th) {
    double f = 0;
    for (int i = 0; i < m; ++i) {
      f -= 0.5 * opts.l2 * th[i] * th[i];
      for (int j = i + 1; j < m; ++j) {
        const size_t ij = static_cast<size_t>(i) * m + j;
        if (N[ij] == 0) continue;
        const double d = th[i] - th[j];
        const double wij = W[ij], wji = N[ij] - wij;
        if (wij > 0) f += wij * log_sigmoid(d);
        if (wji > 0) f += wji * log_sigmoid(-d);
      }
    }
    return f;
  };

  std::vector<double> g(m), H(static_cast<size_t>(m) * m), trial(m);
  double f = 0;         // the log-likelihood at theta, when have_f
  bool have_f = false;  // computed only for the line search
  for (int it = 0; it < opts.max_iter; ++it) {
    std::fill(g.begin(), g.end(), 0.0);
    std::fill(H.begin(), H.end(), 0.0);
    for (int i = 0; i < m; ++i) {
      for (int j = i + 1; j < m; ++j) {
        const size_t ij = static_cast<size_t>(i) * m + j;
        const double n = N[ij];
        if (n == 0) continue;
        const double s = 1.0 / (1.0 + std::exp(-(theta[i] - theta[j])));
        const double r = W[ij] - n * s;  // d loglik / d theta_i from this pair
        g[i] += r;
        g[j] -= r;
        const double h = n * s * (1.0 - s);
        H[static_cast<size_t>(i) * m + i] += h;
        H[static_cast<size_t>(j) * m + j] += h;
        H[ij] -= h;
        H[static_cast<size_t>(j) * m + i] -= h;
      }
    }
    double trace = 0;
    for (int i = 0; i < m; ++i) {
      g[i] -= opts.l2 * theta[i];
      H[static_cast<size_t>(i) * m + i] += opts.l2;
      trace += H[static_cast<size_t>(i) * m + i];
    }
    // The likelihood does not move along the all-ones direction (a common shift), so the
    // Laplacian is singular there; g is orthogonal to it (theta has mean 0), and adding
    // c 11^T leaves the solution unchanged while making the system well conditioned.
    const double c = trace / (static_cast<double>(m) * m) + 1e-12;
    for (double& h : H) h += c;
    std::vector<double> step = g;
    if (!cholesky_solve(H, step, m)) break;  // disconnected with l2 = 0: nothing better to do
    // The full Newton step is safe when it changes every pair's difference by less than
    // ln 2: the logistic curvature s (1 - s) changes by at most a factor e^|dd| when d
    // moves by dd, so along the step the Hessian stays below 2 H and the gain
    // g.step - (1/2) step' H_max step > g.step (1 - 2/2) >= 0 (g.step = step' H step).
    // Larger steps (cold starts, near-separable data) backtrack on the likelihood itself.
    const auto [lo, hi] = std::minmax_element(step.begin(), step.end());
    if (*hi - *lo < 0.5) {
      for (int i = 0; i < m; ++i) trial[i] = theta[i] + step[i];
      have_f = false;
    } else {
      if (!have_f) f = objective(theta);
      double t = 1.0, f_new = f;
      for (int k = 0; k < 40; ++k) {
        for (int i = 0; i < m; ++i) trial[i] = theta[i] + t * step[i];
        f_new = objective(trial);
        if (f_new >= f - 1e-12 * std::abs(f)) break;
        t *= 0.5;
      }
      f = f_new;
      have_f = true;
    }
    double mean = 0, largest = 0;
    for (int i = 0; i < m; ++i) {
      largest = std::max(largest, std::abs(trial[i] - theta[i]));
      mean += trial[i];
    }
    mean /= m;
    for (int i = 0; i < m; ++i) theta[i] = trial[i] - mean;  // a common shift: f is unchanged
    fit.iterations = it + 1;
    if (largest * elo_per_unit < opts.tol) {
      fit.converged = true;
      break;
    }
  }
  for (int i = 0; i < m; ++i) fit.elo[idx[i]] = opts.init + elo_per_unit * theta[i];
  return fit;
}

void apply_anchor(std::vector<double>& elo, const Anchor& anchor) {
  if (anchor.index < 0 || anchor.index >= static_cast<int>(elo.size())) return;
  const double shift = anchor.rating - elo[anchor.index];
  if (!std::isfinite(shift)) return;
  for (double& e : elo) e += shift;
}

BradleyTerryFit fit_battles(const BattleTable& table, const BradleyTerryOptions& opts, const Anchor& anchor) {
  BradleyTerryFit fit = fit_bradley_terry(static_cast<int>(table.models.size()), pair_wins(table), opts);
  apply_anchor(fit.elo, anchor);
  return fit;
}

}  // namespace fw::arena
