// K-means: recovers separated blobs, hand-computed inertia, k-means++ seeds distinct,
// empty clusters re-seeded, the same labels for a seed whatever the thread count.
#include <gtest/gtest.h>

#include <set>

#include "arena/kmeans.h"
#include "core/error.h"
#include "core/rng.h"

namespace {
using namespace fw::arena;

// `per` noisy unit vectors around each of `blobs` orthogonal axes, shuffled; truth[i] = blob.
Embeddings blobs(int blobs, int per, int64_t dim, uint64_t seed, std::vector<int>& truth) {
  fw::Rng rng(seed);
  std::vector<int> order;
  for (int b = 0; b < blobs; ++b)
    for (int i = 0; i < per; ++i) order.push_back(b);
  rng.shuffle(order);
  Embeddings x(static_cast<int64_t>(order.size()), dim);
  for (size_t i = 0; i < order.size(); ++i) {
    float* r = x.row(static_cast<int64_t>(i));
    for (int64_t d = 0; d < dim; ++d) r[d] = static_cast<float>(0.05 * (rng.uniform01() - 0.5));
    r[order[i]] += 1.0f;
  }
  l2_normalize_rows(x);
  truth = order;
  return x;
}

TEST(KMeans, RecoversSeparatedBlobs) {
  std::vector<int> truth;
  const Embeddings x = blobs(4, 25, 16, 3, truth);
  const KMeansResult r = kmeans(x, {.k = 4, .seed = 1, .threads = 1});
  EXPECT_TRUE(r.converged);
  std::vector<int> label_of_blob(4, -1);
  std::set<int> used;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (label_of_blob[truth[i]] < 0) label_of_blob[truth[i]] = r.labels[i];
    EXPECT_EQ(r.labels[i], label_of_blob[truth[i]]) << "point " << i;
    used.insert(r.labels[i]);
  }
  EXPECT_EQ(used.size(), 4u);
  EXPECT_EQ(r.sizes, (std::vector<int64_t>{25, 25, 25, 25}));
}

TEST(KMeans, HandComputedInertia) {
  // 1-D points 0, 1, 10, 11 into 2 clusters: centres 0.5 and 10.5, inertia 4 * 0.25.
  Embeddings x(4, 1);
  x.values = {0.f, 1.f, 10.f, 11.f};
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const KMeansResult r = kmeans(x, {.k = 2, .seed = seed, .threads = 1});
    EXPECT_NEAR(r.inertia, 1.0, 1e-6) << "seed " << seed;
    EXPECT_EQ(r.labels[0], r.labels[1]);
    EXPECT_EQ(r.labels[2], r.labels[3]);
    EXPECT_NE(r.labels[0], r.labels[2]);
    const float c0 = r.centroids.row(r.labels[0])[0], c1 = r.centroids.row(r.labels[2])[0];
    EXPECT_FLOAT_EQ(c0, 0.5f);
    EXPECT_FLOAT_EQ(c1, 10.5f);
  }
}

TEST(KMeans, SameSeedSameLabelsWhateverTheThreads) {
  std::vector<int> truth;
  const Embeddings x = blobs(6, 40, 24, 9, truth);
  const KMeansResult one = kmeans(x, {.k = 10, .seed = 5, .threads = 1});
  for (int threads : {2, 3, 7}) {
    const KMeansResult many = kmeans(x, {.k = 10, .seed = 5, .threads = threads});
    EXPECT_EQ(many.labels, one.labels) << threads << " threads";
    EXPECT_EQ(many.centroids.values, one.centroids.values) << threads << " threads";
    EXPECT_EQ(many.seeds, one.seeds);
    EXPECT_EQ(many.iterations, one.iterations);
  }
  EXPECT_EQ(kmeans(x, {.k = 10, .seed = 5, .threads = 1}).labels, one.labels);
  EXPECT_NE(kmeans(x, {.k = 10, .seed = 6, .threads = 1}).seeds, one.seeds);
}

TEST(KMeans, PlusPlusPicksDistinctPoints) {
  // 5 distinct points, each 4 times: the 5 seeds are 5 different points (D^2 = 0 on the
  // copies of a chosen one); asking for more than 5 still gives distinct rows.
  Embeddings x(20, 5);
  for (int64_t i = 0; i < 20; ++i) x.row(i)[i % 5] = 1.f;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const auto seeds = kmeans_plus_plus(x, 5, seed, 2);
    std::set<int64_t> distinct_points;
    for (int64_t s : seeds) distinct_points.insert(s % 5);
    EXPECT_EQ(distinct_points.size(), 5u) << "seed " << seed;
    const auto more = kmeans_plus_plus(x, 8, seed, 1);
    EXPECT_EQ(std::set<int64_t>(more.begin(), more.end()).size(), 8u);
  }
}

TEST(KMeans, EmptyClustersAreReseeded) {
  // Two distinct points (three copies of A, one B) and k = 3: two centres start on A, the
  // one with the higher index gets no point and is moved.
  Embeddings x(4, 2);
  x.values = {1, 0, 1, 0, 1, 0, 0, 1};
  const KMeansResult r = kmeans(x, {.k = 3, .max_iter = 5, .seed = 0, .threads = 1});
  EXPECT_GE(r.empty_reseeds, 1);
  int64_t total = 0;
  for (int64_t s : r.sizes) total += s;
  EXPECT_EQ(total, 4);
  for (int32_t l : r.labels) EXPECT_TRUE(l >= 0 && l < 3);
  EXPECT_EQ(r.labels[0], r.labels[1]);
  EXPECT_NE(r.labels[0], r.labels[3]);
  EXPECT_NEAR(r.inertia, 0.0, 1e-9);
}

TEST(KMeans, BadKIsAnError) {
  Embeddings x(3, 2);
  EXPECT_THROW(kmeans(x, {.k = 4}), fw::Error);
  EXPECT_THROW(kmeans(x, {.k = 0}), fw::Error);
}

}  // namespace
