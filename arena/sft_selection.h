// How an SFT stage chooses its data from a slice: the paper's pair-judge selection and the
// selections its Table 3 compares it with, each of the same size.
//
//   judge    the pair judge's choice (arena/slices.h, build_sft_data): the prompts the
//            target lost by the margin K, each with the best winner's answer.
//   random   as many prompts of the slice, drawn uniformly without replacement (a seeded
//            Fisher–Yates shuffle, the first n).
//   kmeans   as many prompts, spread over the slice's topics: the prompts' TF-IDF
//            embeddings (arena/text_embedding.h, default options, fitted on the slice),
//            k-means (arena/kmeans.h, k-means++ seeded) into k = ceil(n / per_cluster)
//            clusters (at most one per prompt), then round robin over the clusters in
//            label order, each cluster's prompts in a seeded random order: the first
//            prompt of every cluster, then the second of every cluster that has one, ...,
//            until n.
//   longest  the n prompts with the longest instruction, measured in characters (Unicode
//            code points of UTF-8) of the whole prompt as the embedders see it
//            (arena::prompt_text: every turn's content, joined by newlines); ties keep
//            the slice's order.
//
// n is the judge's count on the same battles, so every arm trains on as many examples.
// The arms other than judge answer each chosen prompt with the pool's own response: the
// record's reference in the canonical form SFT-I0's data D0 uses (synth::format_answer,
// "The answer is X."), never a competitor's answer (on the synthetic domain many of those
// are wrong, so such an arm would lose to wrong labels rather than to its selection). A
// chosen prompt without a reference is an error naming the prompts' file and the key.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "arena/battle_record.h"
#include "arena/slices.h"
#include "data/prompt_dataset.h"

namespace fw::arena {

enum class SftSelection { Judge, Random, KMeans, Longest };
constexpr std::array<EnumName<SftSelection>, 4> enum_names(SftSelection) {
  return {{{SftSelection::Judge, "judge"}, {SftSelection::Random, "random"}, {SftSelection::KMeans, "kmeans"},
           {SftSelection::Longest, "longest"}}};
}
SftSelection sft_selection_from_name(const std::string& name);  // judge | random | kmeans | longest
std::string sft_selection_name(SftSelection s);
// One line for reports: what the selection takes and whose answer it trains on.
std::string sft_selection_description(SftSelection s);

struct SftSelectionOptions {
  SftSelection method = SftSelection::Judge;
  double margin = 1;          // judge: winner's score - target's >= K (the count of every arm)
  uint64_t seed = 0;          // random: the draw; kmeans: k-means++ and the order within clusters
  int64_t per_cluster = 4;    // kmeans: k = ceil(n / per_cluster)
  int threads = 1;            // kmeans: embedding and assignment threads
  std::string source;         // the prompts' file, named by errors
};

// Indices into `prompts` (n at most prompts.size(); n == 0 gives none).
std::vector<size_t> select_random(const std::vector<data::PromptRecord>& prompts, size_t n, uint64_t seed);
std::vector<size_t> select_kmeans(const std::vector<data::PromptRecord>& prompts, size_t n, uint64_t seed,
                                  int64_t per_cluster, int threads = 1);
std::vector<size_t> select_longest(const std::vector<data::PromptRecord>& prompts, size_t n);

// The number of clusters select_kmeans makes for n of `rows` prompts.
int64_t kmeans_clusters(size_t n, size_t rows, int64_t per_cluster);
// Characters (code points) of the prompt's text: select_longest's measure.
int64_t instruction_chars(const data::PromptRecord& prompt);

// The pool's own response to a prompt: its reference as D0's SFT data has it. Throws
// fw::Error (InvalidInput, file `source`, key "reference") when the record has none.
std::string pool_response(const data::PromptRecord& prompt, const std::string& source);

struct SftSelectionResult {
  std::vector<SftExample> examples;
  SliceStats stats;        // the battles' figures; by_model counts whose answers were taken
  int64_t judge_count = 0; // what the judge selection took (every arm's size)
  int64_t clusters = 0;    // kmeans: k
  nlohmann::ordered_json to_json() const;  // {"method", "description", "judge_count", "clusters"?}
  SftSelection method = SftSelection::Judge;
};

// A slice's SFT data by `opts.method`. `prompts` are the slice's records in slice order
// (the battles' question_ids among them).
SftSelectionResult select_sft_data(const std::vector<Battle>& battles, const std::vector<data::PromptRecord>& prompts,
                                   const ResponseTable& responses, const std::string& target,
                                   const SftSelectionOptions& opts);

}  // namespace fw::arena
