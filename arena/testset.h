// The WizardArena offline test sets (DESIGN.md §1), from a clustered prompt pool:
//
//   Offline-Diverse  n prompts per cluster, drawn at random (seeded per cluster).
//   Offline-Hard     m candidates per cluster drawn the same way (an independent stream),
//                    all rated for difficulty by a DifficultyRater; the top M overall by
//                    score are kept. Ties: hash_string(id, seed) ascending, then id — a
//                    seeded, cluster-independent order, so equal scores do not favour a
//                    cluster or an id range. Candidates the rater could not rate (NaN)
//                    are excluded and counted, never guessed.
//   Offline-Mix      Diverse then Hard, deduplicated (by id and by normalised text).
//
// With dedup_text (default) a draw skips a prompt whose normalize_text() equals one the
// set already holds, so a pool that repeats problems still gives distinct test prompts.
//
// Files (write_testset): offline_diverse.jsonl, offline_hard.jsonl, offline_mix.jsonl —
// prompt JSONL, each record with its fields and key order as read plus "cluster" (and
// "difficulty_score" for hard items, in hard and mix) — and stats.json.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/prompt_dataset.h"

namespace fw::arena {

// A prompt of the pool: the parsed record and the JSON it came from.
struct PoolItem {
  data::PromptRecord record;
  nlohmann::ordered_json raw;  // the line's object, keys in file order
  std::string file;
  long line = 0;
};

// Every record of the prompt JSONL files, in order, checked as data::read_prompt_records
// does (errors name file:line and the key; duplicate ids are errors).
std::vector<PoolItem> read_pool(const std::vector<std::string>& files);

// Difficulty of each record (higher = harder), in order; NaN = could not be rated.
using DifficultyRater = std::function<std::vector<double>(const std::vector<data::PromptRecord>&)>;

// Reads the numeric field `field` of each record's JSON in `pool` (by id); a record
// without it (or with a non-number) is NaN. The pool must outlive the rater.
DifficultyRater field_rater(const std::vector<PoolItem>& pool, const std::string& field);

struct TestsetOptions {
  int64_t diverse_per_cluster = 2;           // n
  int64_t hard_candidates_per_cluster = 20;  // m
  int64_t hard_total = 1000;                 // M
  bool dedup_text = true;                    // distinct normalised texts within a set
  uint64_t seed = 0;
};

struct Testset {
  std::vector<int64_t> diverse;      // pool indices, cluster by cluster
  std::vector<int64_t> hard;         // pool indices, hardest first
  std::vector<double> hard_scores;   // [hard]
  std::vector<int64_t> mix;          // diverse, then the hard items not already in
  std::vector<double> mix_scores;    // [mix] NaN for diverse-only items
  int64_t hard_candidates = 0;       // rated or not
  int64_t hard_unrated = 0;          // excluded: the rater gave no score
  int64_t diverse_duplicates_skipped = 0, hard_duplicates_skipped = 0, mix_duplicates_removed = 0;
};

// labels[i] in [0, clusters) is the cluster of pool[i]. Throws fw::Error (InvalidInput)
// for mismatched sizes or negative counts, (Runtime) when the rater returns the wrong
// number of scores.
Testset build_testset(const std::vector<PoolItem>& pool, const std::vector<int32_t>& labels, int64_t clusters,
                      const DifficultyRater& rate, const TestsetOptions& opts);

// The three JSONL files and stats.json (cluster sizes, counts per category per set, the
// hard scores, `extra` merged in at the top level). Returns the stats written.
nlohmann::ordered_json write_testset(const std::string& out_dir, const std::vector<PoolItem>& pool,
                                     const std::vector<int32_t>& labels, int64_t clusters, const Testset& t,
                                     const TestsetOptions& opts,
                                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object());

}  // namespace fw::arena
