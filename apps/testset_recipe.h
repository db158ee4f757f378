// The `flywheel testset` recipe: WizardArena's offline test sets from a prompt pool, and
// the decontamination of training data against them (DESIGN.md §1). Bound from YAML by
// config/ (apps/cmd_testset.cpp), which fills arena/'s own Options structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/chat_template.h"

namespace fw::apps {

struct TestsetEmbeddingSection {
  std::string kind = "tfidf";        // tfidf | model
  // tfidf
  int64_t dim = 1024;
  int64_t word_ngram_max = 2;
  int64_t char_ngram_min = 3;
  int64_t char_ngram_max = 5;
  // model
  std::string model;                 // checkpoint folder
  std::string chat_template = "auto";
  int64_t batch_size = 16;
  int64_t max_len = 512;
  std::string device = "cpu";
  std::string dtype = "auto";
  template <class V>
  void visit(V& v) {
    v.field("kind", kind, "tfidf (hashed n-gram TF-IDF, no model) | model (mean-pooled hidden states)")
        .one_of({"tfidf", "model"});
    v.field("dim", dim, "tfidf: hashed feature dimension").min(1);
    v.field("word_ngram_max", word_ngram_max, "tfidf: word n-grams 1..this (0 = none)").range(0, 8);
    v.field("char_ngram_min", char_ngram_min, "tfidf: shortest character n-gram").range(1, 16);
    v.field("char_ngram_max", char_ngram_max, "tfidf: longest character n-gram (0 = none)").range(0, 16);
    v.field("model", model, "model: the checkpoint folder");
    v.field("chat_template", chat_template, "model: prompt encoding");
    v.check(data::is_chat_template_setting(chat_template), "chat_template",
            std::string("must be ") + data::kChatTemplateSettings + ", got '" + chat_template + "'");
    v.field("batch_size", batch_size, "model: prompts per forward pass").min(1);
    v.field("max_len", max_len, "model: tokens kept per prompt (its end)").min(1);
    v.field("device", device, "model: cpu | cuda | cuda:N");
    v.field("dtype", dtype, "model: auto (the checkpoint's) | float32 | bfloat16 | float16")
        .one_of({"auto", "float32", "bfloat16", "float16"});
    v.check(kind != "model" || !model.empty(), "model", "embedding.kind: model needs embedding.model (a folder)");
    v.check(char_ngram_max == 0 || char_ngram_min <= char_ngram_max, "char_ngram_min", "must be <= char_ngram_max");
    v.check(word_ngram_max > 0 || char_ngram_max > 0, "word_ngram_max", "tfidf needs word or character n-grams");
  }
};

struct TestsetKMeansSection {
  int64_t max_iter = 100;
  double tol = 1e-6;
  template <class V>
  void visit(V& v) {
    v.field("max_iter", max_iter, "Lloyd iterations at most").min(1);
    v.field("tol", tol, "stop when the inertia improves by less than this fraction").range(0.0, 1.0);
  }
};

struct TestsetRaterSection {
  std::string kind = "field";        // field | judge
  std::string field = "difficulty";  // field: the record's numeric key
  // judge: an OpenAI-compatible endpoint rates each candidate 0-10
  std::string base_url;
  std::string model;
  std::string api_key_env;
  double timeout_s = 120;
  int64_t max_retries = 6;
  int64_t max_concurrency = 8;
  int64_t max_tokens = 64;
  double temperature = 0;
  int64_t attempts = 3;
  template <class V>
  void visit(V& v) {
    v.field("kind", kind, "field (a numeric field of the record) | judge (an LLM rates 0-10)").one_of({"field", "judge"});
    v.field("field", field, "field: the key holding the difficulty").non_empty();
    v.field("base_url", base_url, "judge: endpoint, e.g. http://127.0.0.1:8000/v1");
    v.field("model", model, "judge: the model name sent");
    v.field("api_key_env", api_key_env, "judge: NAME of the environment variable with the API key");
    v.field("timeout_s", timeout_s, "judge: per request").min(0.001);
    v.field("max_retries", max_retries, "judge: HTTP retries per request").range(0, 100);
    v.field("max_concurrency", max_concurrency, "judge: requests in flight").range(1, 1024);
    v.field("max_tokens", max_tokens, "judge: tokens per rating").min(1);
    v.field("temperature", temperature, "judge: sampling temperature").range(0.0, 2.0);
    v.field("attempts", attempts, "judge: asks per prompt until a rating parses").range(1, 20);
    v.check(kind != "judge" || !base_url.empty(), "base_url", "rater.kind: judge needs rater.base_url");
    v.check(kind != "judge" || !model.empty(), "model", "rater.kind: judge needs rater.model");
  }
};

struct TestsetDecontaminateSection {
  std::vector<std::string> train;    // training JSONL files to clean (prompt, SFT, preference)
  int64_t neighbours = 5;
  double neighbour_min_similarity = -1;
  double near_dup_jaccard = 0.8;
  int64_t shingle_words = 2;
  template <class V>
  void visit(V& v) {
    v.field("train", train, "training JSONL files to clean, written to OUT/decontaminated/");
    v.field("neighbours", neighbours, "nearest training items removed per test prompt (0 = off)").min(0);
    v.field("neighbour_min_similarity", neighbour_min_similarity, "and only at cosine >= this (-1 = all top-k)")
        .range(-1.0, 1.0);
    v.field("near_dup_jaccard", near_dup_jaccard, "word n-gram Jaccard threshold (> 1 = off)").min(1e-9);
    v.field("shingle_words", shingle_words, "n of the word n-grams").range(1, 16);
  }
};

struct TestsetRecipe {
  std::vector<std::string> pool;     // prompt JSONL files
  std::string out;                   // output folder
  uint64_t seed = 0;
  int64_t threads = 0;               // 0 = hardware concurrency
  int64_t clusters = 500;            // K
  int64_t diverse_per_cluster = 2;   // n
  int64_t hard_candidates_per_cluster = 20;  // m
  int64_t hard_total = 1000;         // M
  bool dedup_text = true;
  TestsetEmbeddingSection embedding;
  TestsetKMeansSection kmeans;
  TestsetRaterSection rater;
  TestsetDecontaminateSection decontaminate;
  template <class V>
  void visit(V& v) {
    v.field("pool", pool, "prompt JSONL files (the instruction pool)").required().non_empty();
    v.field("out", out, "output folder: offline_{diverse,hard,mix}.jsonl, stats.json, decontaminated/").required().non_empty();
    v.field("seed", seed, "k-means++, the per-cluster draws, the TF-IDF hashing");
    v.field("threads", threads, "CPU threads; 0 = all").min(0);
    v.field("clusters", clusters, "K of k-means").min(1);
    v.field("diverse_per_cluster", diverse_per_cluster, "Offline-Diverse: n random prompts per cluster").min(0);
    v.field("hard_candidates_per_cluster", hard_candidates_per_cluster, "Offline-Hard: m rated candidates per cluster")
        .min(0);
    v.field("hard_total", hard_total, "Offline-Hard: keep the M hardest").min(0);
    v.field("dedup_text", dedup_text, "no two prompts with the same normalised text in a set");
    v.section("embedding", embedding);
    v.section("kmeans", kmeans);
    v.section("rater", rater);
    v.section("decontaminate", decontaminate);
  }
};

}  // namespace fw::apps
