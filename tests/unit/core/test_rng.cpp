#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/rng.h"

namespace {

using fw::Rng;

TEST(SynthRng, SameSeedSameStreamDifferentSeedDifferent) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(SynthRng, PinnedOutputs) {
  // Fixed values: the generator must give the same stream on every platform. The first
  // two are xoshiro256**'s reference outputs when seeded by splitmix64 from 0. If this
  // fails after a deliberate change, every generated data set changes with it.
  Rng r(0);
  EXPECT_EQ(r.next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(r.next(), 0xbf6e1f784956452aULL);
  Rng s = Rng::for_index(7, 3, 1);
  EXPECT_EQ(s.uniform_int(0, 999), 90);
}

TEST(SynthRng, ForIndexStreamsAreIndependent) {
  std::set<uint64_t> firsts;
  for (uint64_t i = 0; i < 1000; ++i)
    for (uint64_t stream = 0; stream < 3; ++stream) firsts.insert(Rng::for_index(5, i, stream).next());
  EXPECT_EQ(firsts.size(), 3000u);
  EXPECT_NE(Rng::for_index(5, 0).next(), Rng::for_index(6, 0).next());
}

TEST(SynthRng, UniformIntStaysInRangeAndCoversIt) {
  Rng r(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    int64_t v = r.uniform_int(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    ++counts[static_cast<size_t>(v + 3)];
  }
  for (int c : counts) {
    EXPECT_GT(c, 9400);  // expected 10000 each; 6 sigma is about 570
    EXPECT_LT(c, 10600);
  }
  EXPECT_EQ(r.uniform_int(5, 5), 5);
  // The full 64-bit range does not divide by zero.
  (void)r.uniform_int(INT64_MIN, INT64_MAX);
}

TEST(SynthRng, Uniform01AndBernoulli) {
  Rng r(2);
  double sum = 0;
  int heads = 0;
  for (int i = 0; i < 20000; ++i) {
    double u = r.uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    heads += r.bernoulli(0.25);
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.02);
  EXPECT_NEAR(heads / 20000.0, 0.25, 0.02);
}

TEST(SynthRng, ShuffleIsAPermutationAndWeightedIndexFollowsWeights) {
  Rng r(3);
  std::vector<int> v(50);
  for (int i = 0; i < 50; ++i) v[static_cast<size_t>(i)] = i;
  auto w = v;
  r.shuffle(w);
  EXPECT_NE(v, w);
  std::sort(w.begin(), w.end());
  EXPECT_EQ(v, w);

  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[r.weighted_index({1.0, 0.0, 2.0})];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[2] / 30000.0, 2.0 / 3.0, 0.02);
}

TEST(SynthRng, HashStringIsStable) {
  EXPECT_EQ(fw::hash_string("abc"), fw::hash_string("abc"));
  EXPECT_NE(fw::hash_string("abc"), fw::hash_string("abd"));
  EXPECT_NE(fw::hash_string("abc", 1), fw::hash_string("abc", 2));
}

}  // namespace
