#include "arena/elo_bootstrap.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "core/error.h"

namespace fw::arena {
namespace {

// log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2]: the tail of Stirling's series.
double stirling_tail(double k) {
  if (k < 10) {
    double log_fact = 0;
    for (int i = 2; i <= static_cast<int>(k); ++i) log_fact += std::log(static_cast<double>(i));
    return log_fact - ((k + 0.5) * std::log(k + 1) - (k + 1) + 0.5 * std::log(2 * M_PI));
  }
  const double k1sq = (k + 1) * (k + 1);
  return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / k1sq) / k1sq) / (k + 1);
}

// Inversion from 0 upwards: expected n p + 1 steps.
int64_t binomial_inversion(Rng& rng, int64_t n, double p) {
  const double q = 1 - p, s = p / q, a = (n + 1) * s;
  const double r0 = std::pow(q, static_cast<double>(n));
  for (;;) {
    double r = r0, u = rng.uniform01();
    int64_t x = 0;
    while (u > r) {
      u -= r;
      ++x;
      if (x > n || r <= 0) break;
      r *= a / static_cast<double>(x) - s;
    }
    if (x <= n && u <= r) return x;  // else rounding ran off the end: draw again
  }
}

// Hörmann (1993), algorithm BTRS, for n p >= 10 and p <= 1/2.
int64_t binomial_btrs(Rng& rng, int64_t n_, double p) {
  const double n = static_cast<double>(n_);
  const double spq = std::sqrt(n * p * (1 - p));
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = n * p + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const double r = p / (1 - p);
  const double alpha = (2.83 + 5.1 / b) * spq;
  const double m = std::floor((n + 1) * p);
  for (;;) {
    const double u = rng.uniform01() - 0.5;
    double v = rng.uniform01();
    const double us = 0.5 - std::abs(u);
    const double k = std::floor((2 * a / us + b) * u + c);
    if (!(k >= 0 && k <= n)) continue;
    if (us >= 0.07 && v <= v_r) return static_cast<int64_t>(k);
    v = std::log(v * alpha / (a / (us * us) + b));
    const double bound = (m + 0.5) * std::log((m + 1) / (r * (n - m + 1))) +
                         (n + 1) * std::log((n - m + 1) / (n - k + 1)) +
                         (k + 0.5) * std::log(r * (n - k + 1) / (k + 1)) + stirling_tail(m) + stirling_tail(n - m) -
                         stirling_tail(k) - stirling_tail(n - k);
    if (v <= bound) return static_cast<int64_t>(k);
  }
}

}  // namespace

int64_t binomial(Rng& rng, int64_t n, double p) {
  if (n <= 0 || !(p > 0)) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(rng, n, 1 - p);
  if (static_cast<double>(n) * p < 10) return binomial_inversion(rng, n, p);
  return binomial_btrs(rng, n, p);
}

void multinomial(Rng& rng, int64_t n, const std::vector<double>& weights, std::vector<double>& out) {
  const size_t k = weights.size();
  out.assign(k, 0.0);
  // Suffix sums, so each conditional probability is w_i / (weight not yet drawn from).
  std::vector<double> rest(k + 1, 0.0);
  for (size_t i = k; i > 0; --i) rest[i - 1] = rest[i] + weights[i - 1];
  int64_t left = n;
  for (size_t i = 0; i < k && left > 0; ++i) {
    if (weights[i] <= 0) continue;
    const double p = i + 1 == k || rest[i + 1] <= 0 ? 1.0 : weights[i] / rest[i];
    const int64_t c = binomial(rng, left, p);
    out[i] = static_cast<double>(c);
    left -= c;
  }
}

double quantile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double h = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= values.size()) return values.back();
  return values[lo] + (h - static_cast<double>(lo)) * (values[lo + 1] - values[lo]);
}

BootstrapResult bootstrap_elo(const BattleTable& table, const BradleyTerryOptions& bt, const Anchor& anchor,
                              const BootstrapOptions& opts, const std::vector<double>& warm) {
  if (opts.rounds < 0) throw_invalid("bootstrap rounds must be >= 0", {.key = "bootstrap"});
  BootstrapResult res;
  res.rounds = opts.rounds;
  res.models = static_cast<int>(table.models.size());
  const size_t p = table.models.size();
  res.elo.assign(static_cast<size_t>(res.rounds) * p, std::numeric_limits<double>::quiet_NaN());
  std::vector<double> weights;
  weights.reserve(table.rows.size());
  int64_t n = 0;
  for (const OutcomeRow& r : table.rows) {
    weights.push_back(r.count);
    n += static_cast<int64_t>(r.count);
  }

  std::atomic<int> next{0};
  std::exception_ptr failure;
  std::mutex failure_mu;
  auto worker = [&] {
    std::vector<double> counts;
    try {
      for (int r = next++; r < res.rounds; r = next++) {
        Rng rng = Rng::for_index(opts.seed, static_cast<uint64_t>(r), 0xB0075743);
        multinomial(rng, n, weights, counts);
        BradleyTerryFit fit = fit_bradley_terry(static_cast<int>(p), pair_wins(table, &counts), bt, &warm);
        apply_anchor(fit.elo, anchor);
        // A round without the anchor model has no common reference point: leave it out.
        if (anchor.index >= 0 && !std::isfinite(fit.elo[anchor.index]))
          std::fill(fit.elo.begin(), fit.elo.end(), std::numeric_limits<double>::quiet_NaN());
        std::copy(fit.elo.begin(), fit.elo.end(), res.elo.begin() + static_cast<std::ptrdiff_t>(r * p));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mu);
      if (!failure) failure = std::current_exception();
      next = res.rounds;
    }
  };
  int threads = opts.threads > 0 ? opts.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min(threads, res.rounds));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  if (failure) std::rethrow_exception(failure);

  res.median.resize(p);
  res.ci_low.resize(p);
  res.ci_high.resize(p);
  std::vector<double> column(static_cast<size_t>(res.rounds));
  for (size_t m = 0; m < p; ++m) {
    for (int r = 0; r < res.rounds; ++r) column[r] = res.at(r, static_cast<int>(m));
    res.median[m] = quantile(column, 0.5);
    res.ci_low[m] = quantile(column, 0.025);
    res.ci_high[m] = quantile(column, 0.975);
  }
  return res;
}

}  // namespace fw::arena
