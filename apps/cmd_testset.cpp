// flywheel testset RECIPE.yaml [key=value ...] [--print-config]
// WizardArena's offline test sets (DESIGN.md §1): embed the prompt pool (hashed TF-IDF or
// a local model's mean-pooled hidden states), k-means it into K clusters, draw
// Offline-Diverse (n per cluster) and Offline-Hard (m candidates per cluster rated for
// difficulty, the top M kept), merge them into Offline-Mix, and decontaminate training
// files against the result. Writes into `out`:
//   offline_diverse.jsonl, offline_hard.jsonl, offline_mix.jsonl   prompt JSONL (+ "cluster",
//                                      "difficulty_score")
//   stats.json                         cluster sizes, counts per category, k-means, timings,
//                                      decontamination counts
//   config.yaml                        the resolved recipe
//   decontaminated/<file>, decontaminated/removed.jsonl   (when decontaminate.train is set)
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/recipe_command.h"
#include "core/cuda_runtime.h"
#include "apps/testset_recipe.h"
#include "arena/decontaminate.h"
#include "arena/difficulty_judge.h"
#include "arena/kmeans.h"
#include "arena/model_embedding.h"
#include "arena/testset.h"
#include "arena/text_embedding.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "model/checkpoint.h"

namespace fw::apps {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The embedder of the recipe, fitted on the pool when it is TF-IDF.
struct Embedder {
  std::unique_ptr<arena::TfidfEmbedder> tfidf;
  std::unique_ptr<arena::ModelEmbedder> model;
  arena::EmbedFn fn;
};

Embedder make_embedder(const TestsetRecipe& r, const std::vector<arena::PoolItem>& pool) {
  Embedder e;
  const TestsetEmbeddingSection& s = r.embedding;
  if (s.kind == "tfidf") {
    e.tfidf = std::make_unique<arena::TfidfEmbedder>(arena::TfidfOptions{
        .dim = s.dim, .word_ngram_max = static_cast<int>(s.word_ngram_max),
        .char_ngram_min = static_cast<int>(s.char_ngram_min), .char_ngram_max = static_cast<int>(s.char_ngram_max),
        .seed = r.seed});
    std::vector<std::string> texts;
    texts.reserve(pool.size());
    for (const auto& p : pool) texts.push_back(arena::prompt_text(p.record.messages));
    e.tfidf->fit(texts);
    e.fn = e.tfidf->as_embed_fn(static_cast<int>(r.threads));
    return e;
  }
  arena::ModelEmbeddingOptions o;
  o.chat_template = s.chat_template;
  o.batch_size = s.batch_size;
  o.max_len = s.max_len;
  try {
    o.device = c10::Device(s.device);
  } catch (const std::exception&) {
    throw_invalid("unknown device '" + s.device + "'", {.key = "embedding.device", .hint = "cpu, cuda or cuda:N"});
  }
  if (o.device.is_cuda() && !at::globalContext().hasCUDA())
    throw_invalid("CUDA was requested but no GPU or CUDA runtime is available",
                  {.key = "embedding.device", .hint = cuda_runtime_note()});
  if (s.dtype != "auto") o.dtype = model::dtype_from_name(s.dtype);
  if (!fs::is_directory(s.model)) throw_invalid("model folder not found: " + s.model, {.key = "embedding.model"});
  e.model = std::make_unique<arena::ModelEmbedder>(s.model, o);
  e.fn = arena::cached_embed_fn(e.model->as_embed_fn());  // repeated prompts run once
  return e;
}

arena::DifficultyRater make_rater(const TestsetRecipe& r, const std::vector<arena::PoolItem>& pool,
                                  std::shared_ptr<arena::DifficultyJudgeStats>& judge_stats) {
  if (r.rater.kind == "field") return arena::field_rater(pool, r.rater.field);
  rollout::EndpointOptions ep;
  ep.base_url = r.rater.base_url;
  ep.model = r.rater.model;
  ep.api_key_env = r.rater.api_key_env;
  ep.timeout_s = r.rater.timeout_s;
  ep.max_retries = static_cast<int>(r.rater.max_retries);
  ep.max_concurrency = static_cast<int>(r.rater.max_concurrency);
  arena::DifficultyJudgeOptions jo;
  jo.params.temperature = r.rater.temperature;
  jo.params.max_tokens = r.rater.max_tokens;
  jo.params.seed = r.seed;
  jo.attempts = static_cast<int>(r.rater.attempts);
  judge_stats = std::make_shared<arena::DifficultyJudgeStats>();
  return arena::judge_rater(std::make_shared<rollout::OpenAIClient>(ep), jo, judge_stats);
}

nlohmann::ordered_json counts_json(const arena::ContaminationCounts& c) {
  return {{"train", c.train}, {"kept", c.kept}, {"removed", c.removed()}, {"exact_duplicate", c.exact_duplicate},
          {"near_duplicate", c.near_duplicate}, {"neighbour", c.neighbour}};
}

void run_testset(const TestsetRecipe& r, const std::string& resolved_yaml) {
  const auto t_start = Clock::now();
  fs::create_directories(r.out);
  write_file_atomic(r.out + "/config.yaml", resolved_yaml);
  const int threads = static_cast<int>(r.threads);
  nlohmann::ordered_json timing;

  auto t = Clock::now();
  const std::vector<arena::PoolItem> pool = arena::read_pool(r.pool);
  if (pool.empty()) throw_invalid("the pool has no prompt", {.key = "pool"});
  if (r.clusters > static_cast<int64_t>(pool.size()))
    throw_invalid("clusters (" + std::to_string(r.clusters) + ") exceeds the pool's " + std::to_string(pool.size()) +
                  " prompts", {.key = "clusters"});
  timing["read"] = since(t);
  log::info("testset: " + std::to_string(pool.size()) + " prompts from " + std::to_string(r.pool.size()) + " file(s)");

  t = Clock::now();
  Embedder embedder = make_embedder(r, pool);
  std::vector<std::vector<data::Message>> prompts;
  prompts.reserve(pool.size());
  for (const auto& p : pool) prompts.push_back(p.record.messages);
  const arena::Embeddings emb = embedder.fn(prompts);
  timing["embed"] = since(t);
  log::info("testset: embedded (" + r.embedding.kind + ", dim " + std::to_string(emb.dim) + ") in " +
            std::to_string(since(t)) + " s");

  t = Clock::now();
  const arena::KMeansResult km = arena::kmeans(
      emb, {.k = r.clusters, .max_iter = r.kmeans.max_iter, .tol = r.kmeans.tol, .seed = r.seed, .threads = threads});
  timing["kmeans"] = since(t);
  log::info("testset: k-means K=" + std::to_string(r.clusters) + ", " + std::to_string(km.iterations) +
            " iterations (" + (km.converged ? "converged" : "max_iter") + "), inertia " + std::to_string(km.inertia) +
            ", " + std::to_string(since(t)) + " s");

  t = Clock::now();
  std::shared_ptr<arena::DifficultyJudgeStats> judge_stats;
  const arena::DifficultyRater rater = make_rater(r, pool, judge_stats);
  const arena::TestsetOptions opts{.diverse_per_cluster = r.diverse_per_cluster,
                                   .hard_candidates_per_cluster = r.hard_candidates_per_cluster,
                                   .hard_total = r.hard_total,
                                   .dedup_text = r.dedup_text,
                                   .seed = r.seed};
  const arena::Testset ts = arena::build_testset(pool, km.labels, r.clusters, rater, opts);
  timing["select"] = since(t);
  log::info("testset: diverse " + std::to_string(ts.diverse.size()) + ", hard " + std::to_string(ts.hard.size()) +
            " of " + std::to_string(ts.hard_candidates) + " candidates (" + std::to_string(ts.hard_unrated) +
            " unrated, excluded), mix " + std::to_string(ts.mix.size()));
  if (static_cast<int64_t>(ts.hard.size()) < r.hard_total && r.hard_total > 0)
    log::warn("testset: only " + std::to_string(ts.hard.size()) + " rated candidates for hard_total " +
              std::to_string(r.hard_total));

  nlohmann::ordered_json extra;
  extra["embedding"] = {{"kind", r.embedding.kind}, {"dim", emb.dim}};
  extra["kmeans"] = {{"iterations", km.iterations}, {"converged", km.converged}, {"inertia", km.inertia},
                     {"empty_reseeds", km.empty_reseeds}};
  extra["rater"] = {{"kind", r.rater.kind}};
  if (judge_stats)
    extra["rater"].update({{"requests", judge_stats->requests.load()}, {"rated", judge_stats->rated.load()},
                           {"unparseable", judge_stats->unparseable.load()}, {"failed", judge_stats->failed.load()}});

  if (!r.decontaminate.train.empty()) {
    t = Clock::now();
    std::vector<arena::TestPrompt> test;
    std::vector<std::vector<data::Message>> test_msgs;
    arena::Embeddings test_emb(static_cast<int64_t>(ts.mix.size()), emb.dim);
    for (size_t k = 0; k < ts.mix.size(); ++k) {
      const auto& p = pool[static_cast<size_t>(ts.mix[k])];
      test.push_back({p.record.id, p.record.messages});
      std::copy(emb.row(ts.mix[k]), emb.row(ts.mix[k]) + emb.dim, test_emb.row(static_cast<int64_t>(k)));
    }
    const arena::DecontaminateOptions dopts{.neighbours = r.decontaminate.neighbours,
                                            .neighbour_min_similarity = r.decontaminate.neighbour_min_similarity,
                                            .near_dup_jaccard = r.decontaminate.near_dup_jaccard,
                                            .shingle_words = static_cast<int>(r.decontaminate.shingle_words),
                                            .threads = threads};
    const auto files = arena::decontaminate_files(r.decontaminate.train, test, test_emb, embedder.fn,
                                                  r.out + "/decontaminated", dopts);
    nlohmann::ordered_json d = nlohmann::ordered_json::array();
    for (const auto& f : files) {
      nlohmann::ordered_json j = {{"file", f.file}, {"out", f.out}};
      j.update(counts_json(f.counts));
      d.push_back(j);
      log::info("testset: " + f.file + ": kept " + std::to_string(f.counts.kept) + "/" + std::to_string(f.counts.train) +
                " (removed " + std::to_string(f.counts.exact_duplicate) + " exact, " +
                std::to_string(f.counts.near_duplicate) + " near-duplicate, " + std::to_string(f.counts.neighbour) +
                " neighbour)");
    }
    extra["decontamination"] = {{"test_prompts", test.size()}, {"files", d}};
    timing["decontaminate"] = since(t);
  }
  timing["total"] = since(t_start);
  extra["timing_s"] = timing;
  arena::write_testset(r.out, pool, km.labels, r.clusters, ts, opts, extra);
  log::info("testset: wrote " + r.out + " in " + std::to_string(since(t_start)) + " s");
}

}  // namespace

Run add_testset_command(CLI::App& app) {
  return add_recipe_command<TestsetRecipe>(app, [](const TestsetRecipe& r, const std::string& yaml) {
    run_testset(r, yaml);
    return false;
  });
}

}  // namespace fw::apps
