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
  const double inv = 1 / (k + 1), inv2 = inv * inv;  // one division: this runs in BTRS's exact test
  return (1.0 / 12 - (1.0 / 360 - inv2 / 1260) * inv2) * inv;
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

// log(k!) for k <= kLogFactorialMax, from a table built on first use (the exact test of
// most bootstrap draws, whose n is small in the multinomial's tree below, reads it).
constexpr int64_t kLogFactorialMax = 1 << 14;
const std::vector<double>& log_factorials() {
  static const std::vector<double> table = [] {
    std::vector<double> t(kLogFactorialMax + 1, 0.0);
    for (int64_t k = 2; k <= kLogFactorialMax; ++k) t[k] = t[k - 1] + std::log(static_cast<double>(k));
    return t;
  }();
  return table;
}

// Hörmann (1993), algorithm BTRS, for n p >= 10 and p <= 1/2. Most draws end at the
// squeeze (one division each); the constants of the exact test are computed on the
// draw's first trip there. The exact test is the paper's: log(v alpha / (a / us^2 + b)) <=
// log(m!) + log((n-m)!) - log(k!) - log((n-k)!) + (k - m) log(p / q), with the
// log-factorials from the table while n is in it, else from Stirling's series with its
// tail (the same inequality, rearranged as the paper's step 3.3).
int64_t binomial_btrs(Rng& rng, int64_t n_, double p) {
  const double n = static_cast<double>(n_);
  const double spq = std::sqrt(n * p * (1 - p));
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = n * p + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const bool tabled = n_ <= kLogFactorialMax;
  const double* log_fact = tabled ? log_factorials().data() : nullptr;
  double alpha = 0, r = 0, lpq = 0, m = 0, bound_m = 0;
  bool exact_ready = false;
  for (;;) {
    const double u = rng.uniform01() - 0.5;
    double v = rng.uniform01();
    const double us = 0.5 - std::abs(u);
    const double x = (2 * a / us + b) * u + c;
    if (!(x >= 0 && x < n + 1)) continue;
    const auto ki = static_cast<int64_t>(x);  // floor(x), x >= 0: no call to floor
    if (us >= 0.07 && v <= v_r) return ki;
    const auto k = static_cast<double>(ki);
    if (!exact_ready) {
      alpha = (2.83 + 5.1 / b) * spq;
      r = p / (1 - p);
      lpq = std::log(r);
      m = std::floor((n + 1) * p);
      bound_m = tabled ? log_fact[static_cast<int64_t>(m)] + log_fact[n_ - static_cast<int64_t>(m)]
                       : (m + 0.5) * std::log((m + 1) / (r * (n - m + 1))) + stirling_tail(m) + stirling_tail(n - m);
      exact_ready = true;
    }
    v = std::log(v * alpha * us * us / (a + b * us * us));
    const double bound =
        tabled ? bound_m - log_fact[ki] - log_fact[n_ - ki] + (k - m) * lpq
               : bound_m + (n + 1) * std::log((n - m + 1) / (n - k + 1)) + (k + 0.5) * std::log(r * (n - k + 1) / (k + 1)) -
                     stirling_tail(k) - stirling_tail(n - k);
    if (v <= bound) return ki;
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

namespace {

// Rows [lo, hi) get n draws: the left half Binomial(n, its weight / the range's weight),
// the right half the rest, each half split the same way. `prefix` holds the weights'
// prefix sums.
void split_draws(Rng& rng, int64_t n, size_t lo, size_t hi, const std::vector<double>& prefix,
                 std::vector<double>& out) {
  if (n == 0) return;
  if (hi - lo == 1) {
    out[lo] = static_cast<double>(n);
    return;
  }
  const size_t mid = lo + (hi - lo) / 2;
  const double left = prefix[mid] - prefix[lo], all = prefix[hi] - prefix[lo];
  const int64_t k = left <= 0 ? 0 : left >= all ? n : binomial(rng, n, left / all);
  split_draws(rng, k, lo, mid, prefix, out);
  split_draws(rng, n - k, mid, hi, prefix, out);
}

}  // namespace

void multinomial(Rng& rng, int64_t n, const std::vector<double>& weights, std::vector<double>& out) {
  // A binary tree of binomials, not a chain of conditional ones: the same k - 1 draws and
  // an exact draw either way, but most of the tree's draws have a small n (about 2 n / k at
  // the bottom level), whose exact test reads the log-factorial table, and a draw no longer
  // waits for the one before it. (Prefix sums of counts, as the bootstrap's weights are, are
  // exact.)
  const size_t k = weights.size();
  out.assign(k, 0.0);
  if (k == 0 || n <= 0) return;
  std::vector<double> prefix(k + 1, 0.0);
  for (size_t i = 0; i < k; ++i) prefix[i + 1] = prefix[i] + std::max(0.0, weights[i]);
  if (!(prefix[k] > 0)) return;
  split_draws(rng, n, 0, k, prefix, out);
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

  // A round's fit stops at 1e-4 Elo: Newton's last step then leaves an error of a few
  // millionths of an Elo (quadratic convergence; measured on 1.6M battles), far below what
  // a CI resolves, and a round takes two Newton steps from the full-data fit instead of
  // three. The full-data fit keeps bt.tol.
  BradleyTerryOptions round_bt = bt;
  round_bt.tol = std::max(bt.tol, 1e-4);
  std::atomic<int> next{0};
  std::exception_ptr failure;
  std::mutex failure_mu;
  auto worker = [&] {
    std::vector<double> counts;
    try {
      for (int r = next++; r < res.rounds; r = next++) {
        Rng rng = Rng::for_index(opts.seed, static_cast<uint64_t>(r), 0xB0075743);
        multinomial(rng, n, weights, counts);
        BradleyTerryFit fit = fit_bradley_terry(static_cast<int>(p), pair_wins(table, &counts), round_bt, &warm);
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
