// Slice builders (DESIGN.md §1, the paper's data selection): battles -> training data for
// the target's next SFT, DPO, reward-model and PPO stages. Pure functions of the battle
// records, the prompts and the responses; unit-tested on constructed battles.
//
// A model's score in a battle is the mean of its scores over the battle's parseable games
// (both orders). Battles without a verdict (arena/verdict.h: an unparseable game) are in
// unparseable.jsonl and never reach these functions; a battle passed in with an
// unparseable game is skipped and counted.
//
//   SFT  prompts where the target lost: among the competitors that beat the target on the
//        prompt (battle winner) by a score margin >= K (winner's score - target's score),
//        the best-scoring one (ties: larger margin, then the model name); its response
//        is the assistant turn. One example per prompt at most.
//   DPO  per prompt: every model's mean score over all its battles on the prompt (target
//        included); the best vs the worst (ties: model name order), kept when the gap is
//        >= K and the two responses differ.
//   RM   every battle with a clear winner (not a tie): (winner's response, loser's), the
//        responses differing.
//   PPO  the slice's prompts as they are.
// Counts per model of how often its response was chosen / rejected (the paper's Table 7).
// Details (arena/slices.cpp): selection is on scores alone; a selected response absent from
// the table skips the example (counted), never falls back to the next candidate. Margins
// compare with a 1e-9 tolerance (means of decimal scores are not exact). DPO ranks by
// (mean desc, name asc): the best is the first name among tied bests, the worst the last
// among tied worsts. SFT counts the source as chosen (the target's response is unused).
// stats is reset by each builder; every model of a usable battle has a by_model row.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/enum_names.h"
#include "arena/battle_record.h"
#include "data/prompt_dataset.h"

namespace fw::arena {

// (question_id, model) -> response text, from a battle run's answers.jsonl (records
// {"key", "value": {"question_id", "model", "content", ...}}; arena/battle_runner.h);
// later records win.
using ResponseTable = std::map<std::pair<std::string, std::string>, std::string>;
ResponseTable read_response_table(const std::string& responses_jsonl);

struct SftExample {
  std::string question_id;
  std::vector<data::Message> messages;  // the prompt's messages + {"assistant", response}
  std::string source_model;             // whose response it is
  double margin = 0;                    // source's score - target's score
};

struct PreferenceRecord {
  std::string question_id;
  std::vector<data::Message> prompt;  // the prompt's messages
  std::string chosen, rejected;       // response texts
  std::string chosen_model, rejected_model;
  double score_gap = 0;               // chosen's score - rejected's score
};

struct ModelCounts {
  int64_t chosen = 0, rejected = 0;
};

struct SliceStats {
  int64_t battles = 0;          // battles read
  int64_t skipped_unparseable = 0;
  int64_t skipped_missing_response = 0;  // a response absent from the table
  int64_t skipped_identical = 0;  // chosen and rejected responses are the same text
  int64_t below_margin = 0;       // SFT: lost prompts no winner beat by K; DPO: gap < K
  int64_t prompts = 0;          // distinct prompts with battles
  int64_t kept = 0;             // examples built
  std::map<std::string, ModelCounts> by_model;
  nlohmann::ordered_json to_json() const;
};

// `prompts`: question_id -> record (messages, category, ...). Battles whose question_id
// is not in `prompts` are errors (fw::Error InvalidInput naming the id).
std::vector<SftExample> build_sft_data(const std::vector<Battle>& battles,
                                       const std::map<std::string, data::PromptRecord>& prompts,
                                       const ResponseTable& responses, const std::string& target, double margin,
                                       SliceStats* stats = nullptr);
std::vector<PreferenceRecord> build_dpo_data(const std::vector<Battle>& battles,
                                             const std::map<std::string, data::PromptRecord>& prompts,
                                             const ResponseTable& responses, double margin,
                                             SliceStats* stats = nullptr);
// The on-policy choices: every pair holds the target's own answer. Per prompt, each
// model's mean score over its battles there; where the target lost by K, the
// best-scoring competitor's answer is chosen and the target's rejected (ties of the best:
// name order); with both_directions, where it did not lose but beat the worst competitor
// by K, the target's answer is chosen and the worst's rejected.
//
// Why: in best-vs-worst pairs often neither side is the policy's text, and DPO can lower
// both (the displacement of the chosen answer). With the target's losing answers alone
// (both_directions false) every rejected side is the policy's own mode, and DPO can fit
// them by a shortcut, lowering its mode everywhere (on the synthetic domain: answers off
// by one on prompts it had right); the pairs where its answer wins hold the mode up where
// it is right.
std::vector<PreferenceRecord> build_on_policy_dpo_data(const std::vector<Battle>& battles,
                                                       const std::map<std::string, data::PromptRecord>& prompts,
                                                       const ResponseTable& responses, const std::string& target,
                                                       double margin, bool both_directions,
                                                       SliceStats* stats = nullptr);

// Which DPO pairs a flywheel stage builds: the paper's best vs worst of all models; the
// on-policy pairs both ways; or only the target's losses.
enum class DpoPairs { BestVsWorst, OnPolicy, TargetLost };
constexpr std::array<EnumName<DpoPairs>, 3> enum_names(DpoPairs) {
  return {{{DpoPairs::OnPolicy, "on_policy"}, {DpoPairs::TargetLost, "target_lost"}, {DpoPairs::BestVsWorst, "best_vs_worst"}}};
}
DpoPairs dpo_pairs_from_name(const std::string& name);  // "best_vs_worst" | "on_policy" | "target_lost"
std::string dpo_pairs_name(DpoPairs pairs);

std::vector<PreferenceRecord> build_rm_data(const std::vector<Battle>& battles,
                                            const std::map<std::string, data::PromptRecord>& prompts,
                                            const ResponseTable& responses, SliceStats* stats = nullptr);

// Writers (atomic, one record per line). SFT: {"messages", "id", "source_model",
// "margin"}; preference (TRL): {"prompt": [messages], "chosen": [{"role": "assistant",
// "content"}], "rejected": [...], "id", "chosen_model", "rejected_model", "score_gap"}
// (no "margin" key: that would change the RM loss); prompts: prompt JSONL with the
// records' id, prompt messages, category and reference.
void write_sft_examples(const std::string& path, const std::vector<SftExample>& examples);
void write_preference_records(const std::string& path, const std::vector<PreferenceRecord>& records);
void write_prompt_records(const std::string& path, const std::vector<data::PromptRecord>& prompts);

// The pool split (DESIGN.md §1): a seeded shuffle of the pool, then D0 = the first
// d0_size prompts and slices D1..Dn of slice_size each. Throws fw::Error (InvalidInput)
// when the pool is smaller than d0_size + n * slice_size (naming both numbers).
struct PoolSplit {
  std::vector<data::PromptRecord> d0;
  std::vector<std::vector<data::PromptRecord>> slices;
};
PoolSplit split_pool(const std::vector<data::PromptRecord>& pool, int64_t d0_size, int64_t slice_size,
                     int64_t num_slices, uint64_t seed);

}  // namespace fw::arena
