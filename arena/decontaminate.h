// Decontamination of training data against test sets (WizardArena, DESIGN.md §1): a
// training item is removed when its prompt is
//
//   exact_duplicate  the same normalised text as a test prompt's (normalize_text);
//   near_duplicate   word n-gram Jaccard >= near_dup_jaccard with a test prompt (exact:
//                    prefix filtering over rarest-first ordered shingle sets (Bayardo et
//                    al. 2007's all-pairs bound) finds every pair above the threshold,
//                    then the Jaccard of each candidate is computed);
//   neighbour        among the `neighbours` nearest training items (cosine of the
//                    embeddings, ties: lower index) of some test prompt, and at least
//                    neighbour_min_similarity.
//
// Each removed item is counted once, under the first reason in that order. A prompt's
// text is prompt_text() of its messages (all turns); a training record's prompt is
// training_prompt() below, so SFT, preference and prompt JSONL are all cleaned alike.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "arena/embeddings.h"
#include "data/chat_template.h"

namespace fw::arena {

// Lowercase (ASCII), sentence punctuation (. , ; : ! ? quotes, brackets) removed, runs of
// whitespace collapsed to one space, trimmed. Symbols that carry meaning (+ - * / = < >
// % ^ & | # $ @ ~ _) are kept: "3 + 4" and "3 - 4" stay apart.
std::string normalize_text(std::string_view text);

// The sorted distinct hashes of the word n-grams of a normalised text; a text of fewer
// than n words gives one shingle (the whole text), an empty text none.
std::vector<uint64_t> word_shingles(const std::string& normalized, int n);

double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);  // sorted sets

struct DecontaminateOptions {
  int64_t neighbours = 5;                 // nearest training items removed per test item (0 = off)
  double neighbour_min_similarity = -1;   // and only at cosine >= this (-1 = every top-k)
  double near_dup_jaccard = 0.8;          // word n-gram Jaccard threshold (> 1 = off)
  int shingle_words = 2;                  // n of the word n-grams
  int threads = 0;                        // 0 = hardware concurrency
};

enum class Contamination { None, ExactDuplicate, NearDuplicate, Neighbour };
const char* contamination_name(Contamination c);  // "", exact_duplicate, near_duplicate, neighbour

struct ContaminationHit {
  Contamination reason = Contamination::None;
  int64_t test_index = -1;  // the test item it matched
  double similarity = 0;    // 1 (exact), the Jaccard (near), the cosine (neighbour)
};

struct ContaminationCounts {
  int64_t train = 0, kept = 0, exact_duplicate = 0, near_duplicate = 0, neighbour = 0;
  int64_t removed() const { return exact_duplicate + near_duplicate + neighbour; }
};

struct ContaminationReport {
  std::vector<ContaminationHit> hits;  // [train items]
  ContaminationCounts counts;
};

// Embeddings are rows of the same embedder (same dim), one per text; test_emb may have
// 0 rows when neighbours is 0. Throws fw::Error (InvalidInput) on mismatched sizes.
ContaminationReport find_contamination(const std::vector<std::string>& train_texts, const Embeddings& train_emb,
                                       const std::vector<std::string>& test_texts, const Embeddings& test_emb,
                                       const DecontaminateOptions& opts);

// The prompt of a training record: "prompt" (a string or messages; prompt, TRL
// prompt/completion and preference JSONL), else the messages of "messages" (SFT) or of
// "chosen" (implicit-prompt preferences) up to their last user turn. Throws fw::Error
// (InvalidInput, key "prompt") when the record has none of these.
std::vector<data::Message> training_prompt(const nlohmann::ordered_json& record);

struct TestPrompt {
  std::string id;
  std::vector<data::Message> messages;
};

struct FileDecontamination {
  std::string file, out;  // input and cleaned output
  ContaminationCounts counts;
};

// Cleans each training file against the test prompts (test_emb = embed(test messages)):
// writes out_dir/<file name> with the kept lines exactly as they were, and
// out_dir/removed.jsonl with one {"file", "line", "id", "reason", "test_id",
// "similarity", "record"} per removed line. Two inputs with the same file name are an
// error (the outputs would collide).
std::vector<FileDecontamination> decontaminate_files(const std::vector<std::string>& train_files,
                                                     const std::vector<TestPrompt>& test, const Embeddings& test_emb,
                                                     const EmbedFn& embed, const std::string& out_dir,
                                                     const DecontaminateOptions& opts);

}  // namespace fw::arena
