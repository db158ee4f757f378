// Embedding matrices shared by the test-set builder: one L2-normalised row per prompt
// (arena/text_embedding.h, arena/model_embedding.h), consumed by k-means
// (arena/kmeans.h), the test-set selection (arena/testset.h) and decontamination
// (arena/decontaminate.h). Plus the two numeric helpers they all use: a dot product with
// a fixed summation order and a deterministic parallel_for over index ranges.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/chat_template.h"

namespace fw::arena {

// rows x dim floats, row-major. A row of zeros stands for a prompt with no feature.
struct Embeddings {
  int64_t rows = 0;
  int64_t dim = 0;
  std::vector<float> values;  // rows * dim

  Embeddings() = default;
  Embeddings(int64_t rows_, int64_t dim_) : rows(rows_), dim(dim_), values(static_cast<size_t>(rows_ * dim_), 0.f) {}
  float* row(int64_t i) { return values.data() + i * dim; }
  const float* row(int64_t i) const { return values.data() + i * dim; }
};

// Sum of a[i] * b[i], accumulated in 8 lanes then added in a fixed order: the same result
// on every call (no dependence on threads or alignment).
float dot(const float* a, const float* b, int64_t dim);

// Scales each row to unit L2 norm; rows of zeros stay zero.
void l2_normalize_rows(Embeddings& e);

// The prompt's text as the embedders see it: every message's content, in order, joined
// by newlines (all turns, every role).
std::string prompt_text(const std::vector<data::Message>& messages);

// An embedder: prompts (message lists) -> one L2-normalised row each.
using EmbedFn = std::function<Embeddings(const std::vector<std::vector<data::Message>>&)>;

// An EmbedFn that embeds each distinct prompt (its roles and contents) once, across all
// calls, and answers repeats from memory: a pool that repeats prompts, and training files
// that hold the pool's prompts again, cost one embedding per distinct prompt. The inner
// embedder must be a function of the prompt alone (both embedders here are).
EmbedFn cached_embed_fn(EmbedFn inner);

// threads <= 0: std::thread::hardware_concurrency().
int resolve_threads(int threads);

// Calls fn(begin, end) on contiguous chunks covering [0, n), on up to `threads` threads
// (the calling thread included). fn must only write state owned by its indices, so the
// result does not depend on the thread count. Rethrows the first exception.
void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace fw::arena
