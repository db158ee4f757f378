// Hashed TF-IDF embeddings (see text_embedding.h).
#include "arena/text_embedding.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace fw::arena {
namespace {

bool word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// Kinds of features, hashed with different seeds so "ab" the word and "ab" the character
// n-gram do not share a bucket on purpose.
constexpr uint64_t kWordKind = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kCharKind = 0xc2b2ae3d27d4eb4full;

}  // namespace

std::vector<std::string> tfidf_words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (unsigned char c : text) {
    if (word_byte(c)) {
      cur += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
      continue;
    }
    if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
    if (!std::isspace(c) && c >= 0x20) words.emplace_back(1, static_cast<char>(c));
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

TfidfEmbedder::TfidfEmbedder(TfidfOptions opts) : opts_(opts) {
  if (opts_.dim < 1) throw_invalid("tfidf: dim must be >= 1, got " + std::to_string(opts_.dim), {.key = "dim"});
  if (opts_.word_ngram_max < 0) throw_invalid("tfidf: word_ngram_max must be >= 0", {.key = "word_ngram_max"});
  if (opts_.char_ngram_max > 0 && (opts_.char_ngram_min < 1 || opts_.char_ngram_min > opts_.char_ngram_max))
    throw_invalid("tfidf: need 1 <= char_ngram_min <= char_ngram_max", {.key = "char_ngram_min"});
  if (opts_.word_ngram_max == 0 && opts_.char_ngram_max <= 0)
    throw_invalid("tfidf: no features (word_ngram_max and char_ngram_max are both 0)", {.key = "word_ngram_max"});
}

std::vector<std::pair<int64_t, double>> TfidfEmbedder::counts(const std::string& text) const {
  const std::vector<std::string> words = tfidf_words(text);
  std::vector<int64_t> buckets;
  const auto dim = static_cast<uint64_t>(opts_.dim);
  auto add = [&](std::string_view feature, uint64_t kind) {
    buckets.push_back(static_cast<int64_t>(hash_string(feature, opts_.seed ^ kind) % dim));
  };
  std::string gram;
  for (int n = 1; n <= opts_.word_ngram_max; ++n) {
    for (size_t i = 0; i + n <= words.size(); ++i) {
      gram.clear();
      for (int k = 0; k < n; ++k) {
        if (k) gram += ' ';
        gram += words[i + k];
      }
      add(gram, kWordKind + static_cast<uint64_t>(n));
    }
  }
  if (opts_.char_ngram_max > 0) {
    for (const auto& w : words) {
      const std::string padded = " " + w + " ";
      for (int n = opts_.char_ngram_min; n <= opts_.char_ngram_max; ++n) {
        if (static_cast<size_t>(n) >= padded.size()) {
          add(padded, kCharKind);  // sklearn's char_wb: a padded word no longer than n, once
          break;
        }
        for (size_t i = 0; i + n <= padded.size(); ++i) add(std::string_view(padded).substr(i, n), kCharKind);
      }
    }
  }
  std::sort(buckets.begin(), buckets.end());
  std::vector<std::pair<int64_t, double>> out;
  for (int64_t b : buckets) {
    if (!out.empty() && out.back().first == b) out.back().second += 1;
    else out.emplace_back(b, 1.0);
  }
  return out;
}

void TfidfEmbedder::fit(const std::vector<std::string>& docs) {
  df_.assign(static_cast<size_t>(opts_.dim), 0);
  for (const auto& d : docs)
    for (const auto& [b, c] : counts(d)) ++df_[static_cast<size_t>(b)];
  docs_ = static_cast<int64_t>(docs.size());
  if (docs_ == 0) throw_invalid("tfidf: fit on no documents");
}

double TfidfEmbedder::idf(int64_t bucket) const {
  if (!fitted()) throw_runtime("tfidf: embed before fit");
  return std::log((1.0 + docs_) / (1.0 + df_[static_cast<size_t>(bucket)])) + 1.0;
}

std::vector<float> TfidfEmbedder::embed(const std::string& text) const {
  if (!fitted()) throw_runtime("tfidf: embed before fit");
  std::vector<float> v(static_cast<size_t>(opts_.dim), 0.f);
  double ss = 0;
  const auto c = counts(text);
  std::vector<double> w(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    const double tf = opts_.sublinear_tf ? 1.0 + std::log(c[i].second) : c[i].second;
    w[i] = tf * idf(c[i].first);
    ss += w[i] * w[i];
  }
  if (ss <= 0) return v;
  const double inv = 1.0 / std::sqrt(ss);
  for (size_t i = 0; i < c.size(); ++i) v[static_cast<size_t>(c[i].first)] = static_cast<float>(w[i] * inv);
  return v;
}

Embeddings TfidfEmbedder::embed_all(const std::vector<std::string>& texts, int threads) const {
  if (!fitted()) throw_runtime("tfidf: embed before fit");
  Embeddings e(static_cast<int64_t>(texts.size()), opts_.dim);
  parallel_for(e.rows, threads, [&](int64_t b, int64_t end) {
    for (int64_t i = b; i < end; ++i) {
      const auto v = embed(texts[static_cast<size_t>(i)]);
      std::copy(v.begin(), v.end(), e.row(i));
    }
  });
  return e;
}

EmbedFn TfidfEmbedder::as_embed_fn(int threads) const {
  return [this, threads](const std::vector<std::vector<data::Message>>& prompts) {
    std::vector<std::string> texts;
    texts.reserve(prompts.size());
    for (const auto& p : prompts) texts.push_back(prompt_text(p));
    return embed_all(texts, threads);
  };
}

}  // namespace fw::arena
