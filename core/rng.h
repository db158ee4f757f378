// A small deterministic PRNG (synthetic tasks, data shuffling): xoshiro256** seeded through
// splitmix64, with its own unbiased bounded-integer and uniform-double functions, so the
// same seed gives the same sequence with every compiler and standard library
// (std::uniform_int_distribution and friends are implementation-defined).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace fw {

// One splitmix64 step: advances `state` and returns the next output.
uint64_t splitmix64(uint64_t& state);

// A stateless 64-bit mixer (splitmix64's finaliser): hash of one word.
uint64_t mix64(uint64_t x);

// FNV-1a over the bytes of `s`, then mixed: a stable string hash (not std::hash).
uint64_t hash_string(std::string_view s, uint64_t seed = 0);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // An independent stream for item `index` of a run seeded with `seed`; `stream`
  // separates unrelated uses of the same (seed, index).
  static Rng for_index(uint64_t seed, uint64_t index, uint64_t stream = 0);

  uint64_t next();                          // 64 uniform bits
  int64_t uniform_int(int64_t lo, int64_t hi);  // inclusive on both ends, unbiased; lo <= hi
  double uniform01();                       // [0, 1), 53 bits
  bool bernoulli(double p);                 // true with probability p

  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(uniform_int(0, static_cast<int64_t>(items.size()) - 1))];
  }

  // Fisher–Yates with uniform_int: the same permutation everywhere.
  template <class T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(uniform_int(0, static_cast<int64_t>(i) - 1));
      std::swap(items[i - 1], items[j]);
    }
  }

  // An index drawn with probability proportional to weights[i] (weights >= 0, sum > 0).
  size_t weighted_index(const std::vector<double>& weights);

 private:
  uint64_t s_[4];
};

}  // namespace fw
