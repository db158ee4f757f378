#include "arena/bradley_terry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "core/error.h"

namespace fw::arena {

const char* tie_mode_name(TieMode m) { return m == TieMode::Drop ? "drop" : "half"; }

TieMode tie_mode_from_name(const std::string& name) {
  if (name == "half") return TieMode::Half;
  if (name == "drop") return TieMode::Drop;
  throw_invalid("unknown tie mode \"" + name + "\"", {.key = "ties", .hint = "half | drop"});
}

int BattleTable::index_of(const std::string& model) const { return sorted_index(models, model); }

static_assert(static_cast<int>(Winner::ModelA) == static_cast<int>(Outcome::AWins) &&
                  static_cast<int>(Winner::ModelB) == static_cast<int>(Outcome::BWins) &&
                  static_cast<int>(Winner::Tie) == static_cast<int>(Outcome::Tie) &&
                  static_cast<int>(Winner::TieBothBad) == 3,
              "tabulate_battles maps a Winner to its Outcome as min(winner, 2)");

BattleTable tabulate_battles(const EloBattles& battles, TieMode ties, int threads) {
  // One pass counts every battle under key (a P + b) 3 + outcome in the battles' own model
  // ids (P of them), a < b, the outcome seen from a: into a dense array per thread while
  // P is small (the threads' shares summed after), else the keys sorted and run-length
  // counted. The orientation is made canonical without branches (a branch would be
  // mispredicted on half the battles), and ties are dropped only from the counted rows.
  const uint64_t P = battles.models.size();
  auto key_of = [&](size_t i) {
    const uint64_t x = battles.model_a[i], y = battles.model_b[i];
    const uint64_t w = std::min<uint64_t>(static_cast<uint64_t>(battles.winner[i]), 2);  // seen from model_a
    const uint64_t o = w ^ ((x > y) & (w < 2));                                         // seen from the lower id
    return (std::min(x, y) * P + std::max(x, y)) * 3 + o;
  };
  std::vector<std::pair<uint64_t, int64_t>> keyed;  // (key, count), sorted by key
  if (P * P * 3 <= (uint64_t{1} << 24)) {
    int n_parts = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
    // A thread's share is at least 65536 battles, and all the threads' arrays together at
    // most 2^24 counts (128 MB): many models on many cores count on fewer threads.
    const size_t most_parts = std::min<size_t>(battles.size() / 65536 + 1, std::max<uint64_t>(1, (uint64_t{1} << 24) / (P * P * 3 + 1)));
    n_parts = static_cast<int>(std::clamp<size_t>(static_cast<size_t>(std::max(1, n_parts)), 1, most_parts));
    std::vector<std::vector<int64_t>> counts(static_cast<size_t>(n_parts));
    auto count_part = [&](int k) {
      std::vector<int64_t>& c = counts[static_cast<size_t>(k)];
      c.assign(P * P * 3, 0);
      const size_t lo = battles.size() * k / n_parts, hi = battles.size() * (k + 1) / n_parts;
      for (size_t i = lo; i < hi; ++i) ++c[key_of(i)];
    };
    std::vector<std::thread> pool;
    for (int k = 1; k < n_parts; ++k) pool.emplace_back(count_part, k);
    count_part(0);
    for (auto& th : pool) th.join();
    for (uint64_t key = 0; key < P * P * 3; ++key) {
      int64_t n = 0;
      for (const auto& c : counts) n += c[key];
      if (n) keyed.emplace_back(key, n);
    }
  } else {
    std::vector<uint64_t> keys(battles.size());
    for (size_t i = 0; i < battles.size(); ++i) keys[i] = key_of(i);
    std::sort(keys.begin(), keys.end());
    for (size_t i = 0; i < keys.size();) {
      size_t j = i;
      while (j < keys.size() && keys[j] == keys[i]) ++j;
      keyed.emplace_back(keys[i], static_cast<int64_t>(j - i));
      i = j;
    }
  }

  BattleTable t;
  // The table's models: those that battle (a tie TieMode::Drop leaves out still counts),
  // renumbered in their sorted order, so the keys stay sorted.
  std::vector<uint8_t> present(P, 0);
  for (const auto& kn : keyed) present[kn.first / 3 / P] = present[kn.first / 3 % P] = 1;
  std::vector<int32_t> id(P, -1);
  for (uint64_t m = 0; m < P; ++m) {
    if (!present[m]) continue;
    id[m] = static_cast<int32_t>(t.models.size());
    t.models.push_back(battles.models[m]);
  }
  t.rows.reserve(keyed.size());
  for (const auto& [key, n] : keyed) {
    const auto o = static_cast<Outcome>(key % 3);
    if (o == Outcome::Tie && ties == TieMode::Drop) {
      t.ties_dropped += n;
      continue;
    }
    t.rows.push_back({id[key / 3 / P], id[key / 3 % P], o, static_cast<double>(n)});
    t.battles += n;
  }
  return t;
}

BattleTable tabulate_battles(const std::vector<Battle>& battles, TieMode ties) {
  return tabulate_battles(to_elo_battles(battles), ties);
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

// In-place Cholesky of the m x m SPD matrix `a` (only its lower triangle is read), then
// solves a x = b. Returns false if `a` is not positive definite.
bool cholesky_solve(std::vector<double>& a, std::vector<double>& b, int m) {
  for (int j = 0; j < m; ++j) {
    double* aj = &a[static_cast<size_t>(j) * m];
    double d = aj[j] - dot(aj, aj, j);
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    aj[j] = d;
    const double inv_d = 1 / d;  // one division per column, not per element
    for (int i = j + 1; i < m; ++i) {
      double* ai = &a[static_cast<size_t>(i) * m];
      ai[j] = (ai[j] - dot(ai, aj, j)) * inv_d;
    }
  }
  for (int i = 0; i < m; ++i) {  // L y = b
    const double* ai = &a[static_cast<size_t>(i) * m];
    b[i] = (b[i] - dot(ai, b.data(), i)) / ai[i];
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
  double prev_step_elo = 0;
  bool prev_full_step = false;
  for (int it = 0; it < opts.max_iter; ++it) {
    // Only H's lower triangle is built: it is all the Cholesky reads.
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
    for (int i = 0; i < m; ++i)
      for (int j = 0; j <= i; ++j) H[static_cast<size_t>(i) * m + j] += c;
    std::vector<double> step = g;
    if (!cholesky_solve(H, step, m)) break;  // disconnected with l2 = 0: nothing better to do
    // The full Newton step is safe when it changes every pair's difference by less than
    // ln 2: the logistic curvature s (1 - s) changes by at most a factor e^|dd| when d
    // moves by dd, so along the step the Hessian stays below 2 H and the gain
    // g.step - (1/2) step' H_max step > g.step (1 - 2/2) >= 0 (g.step = step' H step).
    // Larger steps (cold starts, near-separable data) backtrack on the likelihood itself.
    const auto [lo, hi] = std::minmax_element(step.begin(), step.end());
    bool full_step = *hi - *lo < 0.5;
    if (full_step) {
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
      full_step = t == 1.0;  // the whole Newton step was taken after all
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
    // Stop on a step below tol, or one step earlier when Newton's quadratic convergence
    // (each step ~ C times the previous one squared) predicts the next step below tol / 10:
    // the step just taken then left an error that small, and the confirming iteration
    // (a quarter of a warm-started bootstrap round's time) is saved.
    const double step_elo = largest * elo_per_unit;
    // Only two full Newton steps in a row tell the convergence rate: a step the line search
    // shrank is small without being close.
    const bool quadratic = full_step && prev_full_step && step_elo < 0.1 * prev_step_elo && step_elo < 1;
    const double predicted_next = quadratic ? step_elo * step_elo * step_elo / (prev_step_elo * prev_step_elo) : std::numeric_limits<double>::infinity();
    prev_step_elo = step_elo;
    prev_full_step = full_step;
    if (step_elo < opts.tol || predicted_next < 0.1 * opts.tol) {
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
