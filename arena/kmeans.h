// K-means on embedding rows (squared Euclidean distance; on L2-normalised rows that is
// 2 - 2 cos), as the WizardArena test-set builder clusters its instruction pool.
//
//   init      k-means++ (Arthur & Vassilvitskii): the first centre uniformly at random,
//             each next one with probability proportional to D(x)^2, the squared
//             distance to the nearest centre so far, from fw::Rng seeded with `seed`.
//             Points already chosen are never chosen again; when every remaining point
//             sits on a centre (fewer distinct points than k) the next centre is a
//             uniformly random unchosen point.
//   Lloyd     assign each point to its nearest centre (ties: the lower index), move each
//             centre to the mean of its points; until no assignment changes, the inertia
//             improves by less than tol (relative), or max_iter iterations.
//   empty     a centre left with no point is moved onto the point farthest from its own
//             centre (ties: lower index; each point used once per iteration), and counted.
//
// Assignment runs on `threads` threads; each point's distance and label are computed on
// their own and the centre means are summed serially in point order, so the result is
// the same for a seed whatever the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "arena/embeddings.h"

namespace fw::arena {

struct KMeansOptions {
  int64_t k = 8;          // clusters (1 <= k <= rows)
  int64_t max_iter = 100; // Lloyd iterations at most
  double tol = 1e-6;      // stop when (old - new) inertia <= tol * old
  uint64_t seed = 0;      // k-means++ seeding
  int threads = 0;        // assignment threads; 0 = hardware concurrency
};

struct KMeansResult {
  std::vector<int32_t> labels;  // [rows] cluster of each point
  Embeddings centroids;         // [k, dim]
  std::vector<int64_t> sizes;   // [k] points per cluster
  std::vector<int64_t> seeds;   // [k] the rows k-means++ picked
  double inertia = 0;           // sum of squared distances to the assigned centre
  int64_t iterations = 0;       // Lloyd iterations run
  bool converged = false;       // stopped before max_iter
  int64_t empty_reseeds = 0;    // empty clusters moved onto a far point
};

// The k rows k-means++ picks, in order. Throws fw::Error (InvalidInput) unless 1 <= k <= rows.
std::vector<int64_t> kmeans_plus_plus(const Embeddings& x, int64_t k, uint64_t seed, int threads = 0);

KMeansResult kmeans(const Embeddings& x, const KMeansOptions& opts);

}  // namespace fw::arena
