// K-means++ and Lloyd's iterations (see kmeans.h).
#include "arena/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/rng.h"

namespace fw::arena {
namespace {

std::vector<float> squared_norms(const Embeddings& x, int threads) {
  std::vector<float> n(static_cast<size_t>(x.rows));
  parallel_for(x.rows, threads, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) n[static_cast<size_t>(i)] = dot(x.row(i), x.row(i), x.dim);
  });
  return n;
}

// |x - c|^2 from the norms and the dot product, clamped at 0 (rounding).
inline double sq_dist(float xn, float cn, float xc) { return std::max(0.0, double(xn) + double(cn) - 2.0 * double(xc)); }

void check_k(const Embeddings& x, int64_t k) {
  if (k < 1 || k > x.rows)
    throw_invalid("k-means: need 1 <= k <= points, got k = " + std::to_string(k) + " for " +
                      std::to_string(x.rows) + " points",
                  {.key = "clusters", .hint = "lower the number of clusters"});
}

}  // namespace

std::vector<int64_t> kmeans_plus_plus(const Embeddings& x, int64_t k, uint64_t seed, int threads) {
  check_k(x, k);
  Rng rng(seed);
  const std::vector<float> norms = squared_norms(x, threads);
  std::vector<int64_t> seeds;
  std::vector<char> chosen(static_cast<size_t>(x.rows), 0);
  std::vector<double> d2(static_cast<size_t>(x.rows), std::numeric_limits<double>::infinity());
  auto take = [&](int64_t c) {
    seeds.push_back(c);
    chosen[static_cast<size_t>(c)] = 1;
    const float* cv = x.row(c);
    const float cn = norms[static_cast<size_t>(c)];
    parallel_for(x.rows, threads, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const auto s = static_cast<size_t>(i);
        d2[s] = chosen[s] ? 0.0 : std::min(d2[s], sq_dist(norms[s], cn, dot(x.row(i), cv, x.dim)));
      }
    });
  };
  take(rng.uniform_int(0, x.rows - 1));
  while (static_cast<int64_t>(seeds.size()) < k) {
    double total = 0;
    for (double v : d2) total += v;
    if (total > 0) {
      take(static_cast<int64_t>(rng.weighted_index(d2)));
    } else {
      std::vector<int64_t> rest;
      for (int64_t i = 0; i < x.rows; ++i)
        if (!chosen[static_cast<size_t>(i)]) rest.push_back(i);
      take(rng.pick(rest));
    }
  }
  return seeds;
}

KMeansResult kmeans(const Embeddings& x, const KMeansOptions& opts) {
  check_k(x, opts.k);
  if (opts.max_iter < 1) throw_invalid("k-means: max_iter must be >= 1", {.key = "max_iter"});
  const int64_t k = opts.k, dim = x.dim;
  const auto n = static_cast<size_t>(x.rows);
  KMeansResult r;
  r.seeds = kmeans_plus_plus(x, k, opts.seed, opts.threads);
  r.centroids = Embeddings(k, dim);
  for (int64_t c = 0; c < k; ++c) std::copy(x.row(r.seeds[c]), x.row(r.seeds[c]) + dim, r.centroids.row(c));
  const std::vector<float> norms = squared_norms(x, opts.threads);
  r.labels.assign(n, -1);
  std::vector<double> dist(n, 0.0);
  double previous = std::numeric_limits<double>::infinity();

  for (int64_t it = 0; it < opts.max_iter; ++it) {
    const std::vector<float> cnorms = squared_norms(r.centroids, opts.threads);
    int64_t changed = 0;
    std::vector<int64_t> changed_per_point(n, 0);
    parallel_for(x.rows, opts.threads, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const auto s = static_cast<size_t>(i);
        int32_t best = 0;
        double best_d = std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < k; ++c) {
          const double d = sq_dist(norms[s], cnorms[static_cast<size_t>(c)], dot(x.row(i), r.centroids.row(c), dim));
          if (d < best_d) best_d = d, best = static_cast<int32_t>(c);
        }
        changed_per_point[s] = r.labels[s] != best;
        r.labels[s] = best;
        dist[s] = best_d;
      }
    });
    for (int64_t v : changed_per_point) changed += v;
    double inertia = 0;
    for (double d : dist) inertia += d;
    r.iterations = it + 1;
    r.inertia = inertia;
    if (changed == 0 || (std::isfinite(previous) && previous - inertia <= opts.tol * previous)) {
      r.converged = true;
      break;
    }
    if (it + 1 == opts.max_iter) break;  // labels stay those of the returned centres
    previous = inertia;

    // Update: means summed serially in point order (thread-count independent).
    std::vector<double> sums(static_cast<size_t>(k * dim), 0.0);
    std::vector<int64_t> counts(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < n; ++i) {
      const int32_t c = r.labels[i];
      ++counts[static_cast<size_t>(c)];
      const float* v = x.row(static_cast<int64_t>(i));
      double* s = sums.data() + static_cast<size_t>(c) * dim;
      for (int64_t d = 0; d < dim; ++d) s[d] += v[d];
    }
    std::vector<char> used(n, 0);
    for (int64_t c = 0; c < k; ++c) {
      float* cv = r.centroids.row(c);
      if (counts[static_cast<size_t>(c)] > 0) {
        const double inv = 1.0 / static_cast<double>(counts[static_cast<size_t>(c)]);
        const double* s = sums.data() + static_cast<size_t>(c) * dim;
        for (int64_t d = 0; d < dim; ++d) cv[d] = static_cast<float>(s[d] * inv);
        continue;
      }
      // Empty: move onto the point farthest from its centre.
      size_t far = 0;
      double far_d = -1;
      for (size_t i = 0; i < n; ++i)
        if (!used[i] && dist[i] > far_d) far_d = dist[i], far = i;
      used[far] = 1;
      dist[far] = 0;
      std::copy(x.row(static_cast<int64_t>(far)), x.row(static_cast<int64_t>(far)) + dim, cv);
      ++r.empty_reseeds;
    }
  }
  r.sizes.assign(static_cast<size_t>(k), 0);
  for (int32_t l : r.labels) ++r.sizes[static_cast<size_t>(l)];
  return r;
}

}  // namespace fw::arena
