// Hashed TF-IDF: tokenisation, char_wb n-grams, hand-computed TF-IDF weights, cosines of
// identical and disjoint texts, determinism and seeds.
#include <gtest/gtest.h>

#include <cmath>

#include "arena/text_embedding.h"
#include "core/error.h"

namespace {
using namespace fw::arena;

float cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return dot(a.data(), b.data(), static_cast<int64_t>(a.size()));
}

TEST(TfidfWords, SplitsWordsAndKeepsSymbolsApart) {
  const std::vector<std::string> want = {"what", "is", "3", "+", "4", "?"};
  EXPECT_EQ(tfidf_words("What is 3+4?"), want);
  EXPECT_EQ(tfidf_words("  \t\n"), std::vector<std::string>{});
  EXPECT_NE(tfidf_words("3 + 4"), tfidf_words("3 - 4"));
}

TEST(Tfidf, CharNgramsOfPaddedWordsAsSklearnCharWb) {
  // " ab " (4 bytes): 3-grams " ab", "ab "; for n = 4 the padded word itself, once; stop.
  TfidfEmbedder e({.dim = 1 << 20, .word_ngram_max = 0, .char_ngram_min = 3, .char_ngram_max = 5});
  double total = 0;
  for (const auto& [b, c] : e.counts("ab")) total += c;
  EXPECT_EQ(total, 3.0);
  // " abcd " (6 bytes): 4 + 3 + 2 n-grams for n = 3, 4, 5.
  total = 0;
  for (const auto& [b, c] : e.counts("abcd")) total += c;
  EXPECT_EQ(total, 9.0);
}

TEST(Tfidf, HandComputedWeights) {
  // Words only, raw counts. N = 3; df(apple) = 2, df(banana) = 1, df(cherry) = 1.
  TfidfEmbedder e({.dim = 1 << 20, .word_ngram_max = 1, .char_ngram_max = 0, .sublinear_tf = false});
  e.fit({"apple banana", "apple", "cherry"});
  const int64_t apple = e.counts("apple")[0].first, banana = e.counts("banana")[0].first;
  const double idf_apple = std::log(4.0 / 3.0) + 1.0, idf_banana = std::log(4.0 / 2.0) + 1.0;
  EXPECT_NEAR(e.idf(apple), idf_apple, 1e-12);
  EXPECT_NEAR(e.idf(banana), idf_banana, 1e-12);
  EXPECT_NEAR(e.idf(e.counts("durian")[0].first), std::log(4.0) + 1.0, 1e-12);  // unseen

  // "apple banana apple": tf = (2, 1).
  const std::vector<float> v = e.embed("apple banana apple");
  const double wa = 2 * idf_apple, wb = idf_banana, norm = std::sqrt(wa * wa + wb * wb);
  EXPECT_NEAR(v[apple], wa / norm, 1e-6);
  EXPECT_NEAR(v[banana], wb / norm, 1e-6);
  EXPECT_NEAR(cosine(v, e.embed("apple")), wa / norm, 1e-6);
  EXPECT_NEAR(cosine(v, e.embed("cherry")), 0.0, 1e-9);

  // Sublinear tf: 1 + ln 2 for the two apples.
  TfidfEmbedder s({.dim = 1 << 20, .word_ngram_max = 1, .char_ngram_max = 0, .sublinear_tf = true});
  s.fit({"apple banana", "apple", "cherry"});
  const std::vector<float> u = s.embed("apple banana apple");
  const double sa = (1 + std::log(2.0)) * idf_apple, snorm = std::sqrt(sa * sa + wb * wb);
  EXPECT_NEAR(u[apple], sa / snorm, 1e-6);
}

TEST(Tfidf, IdenticalTextsCosineOneDisjointZero) {
  TfidfEmbedder e({.dim = 1 << 18});
  e.fit({"Compute 3 + 4.", "Reverse the word duck.", "qqqq xxxx"});
  const auto a = e.embed("Reverse the word duck."), b = e.embed("Reverse the word duck.");
  EXPECT_NEAR(cosine(a, b), 1.0, 1e-6);
  EXPECT_NEAR(cosine(a, a), 1.0, 1e-6);  // unit norm
  EXPECT_NEAR(cosine(e.embed("qqqq"), e.embed("zzzz")), 0.0, 1e-9);
  const float related = cosine(e.embed("Compute 3 + 4."), e.embed("Compute 3 + 5."));
  EXPECT_GT(related, 0.3f);
  EXPECT_LT(related, 0.999f);
  // An empty text is the zero vector.
  for (float x : e.embed("")) ASSERT_EQ(x, 0.f);
}

TEST(Tfidf, DeterministicAcrossInstancesAndThreads) {
  const std::vector<std::string> docs = {"what is 2 + 2", "count the items: kiwi, berry", "reverse abc"};
  TfidfEmbedder a({.dim = 64}), b({.dim = 64});
  a.fit(docs);
  b.fit(docs);
  const Embeddings ea = a.embed_all(docs, 1), eb = b.embed_all(docs, 3);
  EXPECT_EQ(ea.values, eb.values);
  EXPECT_EQ(ea.rows, 3);
  EXPECT_EQ(ea.dim, 64);
  TfidfEmbedder c({.dim = 64, .seed = 7});
  c.fit(docs);
  EXPECT_NE(c.embed_all(docs).values, ea.values);
}

TEST(Tfidf, PromptTextJoinsEveryTurn) {
  const std::vector<fw::data::Message> m = {{"user", "Compute 1 + 1."}, {"assistant", "2"}, {"user", "Add 3."}};
  EXPECT_EQ(prompt_text(m), "Compute 1 + 1.\n2\nAdd 3.");
  TfidfEmbedder e({.dim = 1 << 16});
  e.fit({prompt_text(m)});
  const Embeddings out = e.as_embed_fn()({m});
  const auto direct = e.embed(prompt_text(m));
  EXPECT_EQ(std::vector<float>(out.row(0), out.row(0) + out.dim), direct);
}

TEST(CachedEmbedFn, EmbedsEachDistinctPromptOnce) {
  TfidfEmbedder e({.dim = 128});
  e.fit({"a b", "c d", "e"});
  int64_t rows_embedded = 0;
  const EmbedFn inner = e.as_embed_fn();
  const EmbedFn cached = cached_embed_fn([&](const std::vector<std::vector<fw::data::Message>>& p) {
    rows_embedded += static_cast<int64_t>(p.size());
    return inner(p);
  });
  using M = std::vector<fw::data::Message>;
  const M x = {{"user", "a b"}}, y = {{"user", "c d"}}, y_as_system = {{"system", "c d"}};
  const Embeddings first = cached({x, y, x, x});
  EXPECT_EQ(rows_embedded, 2);
  const Embeddings second = cached({y, y_as_system, x});  // the role is part of the prompt
  EXPECT_EQ(rows_embedded, 3);
  const Embeddings direct = inner({x, y, x, x});
  EXPECT_EQ(first.values, direct.values);
  EXPECT_EQ(std::vector<float>(second.row(0), second.row(0) + 128), std::vector<float>(direct.row(1), direct.row(1) + 128));
  EXPECT_EQ(cached({}).rows, 0);
}

TEST(Tfidf, BadOptionsAndUseBeforeFitAreErrors) {
  EXPECT_THROW(TfidfEmbedder({.dim = 0}), fw::Error);
  EXPECT_THROW(TfidfEmbedder({.word_ngram_max = 0, .char_ngram_max = 0}), fw::Error);
  EXPECT_THROW(TfidfEmbedder({.char_ngram_min = 4, .char_ngram_max = 3}), fw::Error);
  TfidfEmbedder e;
  EXPECT_THROW(e.embed("x"), fw::Error);
}

}  // namespace
