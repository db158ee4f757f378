// A model-free text embedder: hashed TF-IDF over word n-grams and character n-grams
// (sklearn's HashingVectorizer + TfidfTransformer, in one pass, deterministic).
//
//   text      lowercased (ASCII), split into words = maximal runs of letters, digits and
//             non-ASCII bytes; every other non-space byte (+ - * / = ? ...) is a
//             one-character word of its own, so "3 + 4" and "3 - 4" differ.
//   features  word n-grams for n in [1, word_ngram_max], and the character n-grams
//             (n in [char_ngram_min, char_ngram_max]) of each word padded with a space on
//             both sides (sklearn's "char_wb"); a padded word shorter than n gives itself.
//   bucket    hash_string(feature, seed + kind) mod dim (kinds kept apart), counts summed.
//   weight    tf = 1 + ln(count) (sublinear) or count; idf = ln((1 + N) / (1 + df)) + 1
//             (smooth idf, N documents of the fit, df = documents with the bucket);
//             buckets never seen in the fit get idf ln(1 + N) + 1.
//   vector    tf * idf, L2-normalised (an empty text gives the zero vector).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arena/embeddings.h"

namespace fw::arena {

struct TfidfOptions {
  int64_t dim = 1024;         // hashed feature buckets (the embedding dimension)
  int word_ngram_max = 2;     // word n-grams 1..this (0 = no word features)
  int char_ngram_min = 3;     // character n-grams of padded words, this..char_ngram_max
  int char_ngram_max = 5;     // 0 = no character features
  bool sublinear_tf = true;   // tf = 1 + ln(count) instead of count
  uint64_t seed = 0;          // hash seed (changes which features collide)
};

// The words of a text as described above (lowercased).
std::vector<std::string> tfidf_words(const std::string& text);

class TfidfEmbedder {
 public:
  // Throws fw::Error (InvalidInput) for a dim < 1 or an empty n-gram range.
  explicit TfidfEmbedder(TfidfOptions opts = {});

  // Learns the document frequencies of the buckets over `docs` (replacing any earlier fit).
  void fit(const std::vector<std::string>& docs);
  bool fitted() const { return docs_ > 0; }

  // The L2-normalised TF-IDF row of one text; fit() first (else fw::Error).
  std::vector<float> embed(const std::string& text) const;
  Embeddings embed_all(const std::vector<std::string>& texts, int threads = 1) const;

  // The bucket counts of a text before weighting: (bucket, count) sorted by bucket.
  std::vector<std::pair<int64_t, double>> counts(const std::string& text) const;
  double idf(int64_t bucket) const;
  const TfidfOptions& options() const { return opts_; }

  // An EmbedFn over prompts (prompt_text of each), sharing this fitted embedder.
  EmbedFn as_embed_fn(int threads = 1) const;

 private:
  TfidfOptions opts_;
  int64_t docs_ = 0;
  std::vector<int64_t> df_;  // [dim]
};

}  // namespace fw::arena
