// Preference data (DPO, reward models): JSONL in TRL's formats, tokenized into a shared
// prompt and two completions.
//
//   {"prompt": "text", "chosen": "text", "rejected": "text"}                  plain text
//   {"prompt": [messages], "chosen": [messages], "rejected": [messages]}      conversational
//   {"chosen": [messages], "rejected": [messages]}     implicit prompt: both are whole
//                                                      conversations; the prompt is their
//                                                      longest common prefix of messages
//   {"chosen": "text", "rejected": "text"}             implicit prompt, plain text: the
//                                                      longest common prefix of characters
//                                                      (TRL's extract_prompt: when the
//                                                      texts diverge right after a space,
//                                                      that space goes to the completions;
//                                                      when one text is a prefix of the
//                                                      other, that side is empty: skipped)
//   any of them with "margin": number                  (optional; reward-model margin)
//
// Tokenization follows TRL 1.16 (DPOTrainer._prepare_dataset):
//
//   conversational  P  = encode_chat(prompt, add_generation_prompt = true)
//                   Fc = encode_chat(prompt + chosen), Fr = encode_chat(prompt + rejected)
//                   n  = min(common_prefix(P, Fc), common_prefix(P, Fr))
//                   prompt_ids = P[0, n), chosen_ids = Fc[n, end), rejected_ids = Fr[n, end)
//                   So prompt_ids + chosen_ids is exactly the chat template's encoding of the
//                   whole conversation. With the three templates of data/chat_template.h
//                   the generation prompt is a prefix of the conversation, so n = |P| and a
//                   completion is exactly what the template adds for the reply: " {reply}"
//                   + eos (plain), " {reply} " + eos (llama2), "{reply}" <|im_end|> "\n"
//                   (chatml: the template's end of turn and its newline, as TRL keeps
//                   them for Qwen-style templates).
//   plain text      prompt_ids = [bos] + encode(prompt); completion = encode_continuation
//                   (completion) + [eos] (bos/eos only when the tokenizer has them): TRL's
//                   string format, where the eos is appended to the completion text. The
//                   prompt and the completion are encoded separately, so no token straddles
//                   their boundary (TRL encodes the joined text and splits at the common
//                   prefix; both agree when the boundary falls before a space).
//
// Malformed lines, missing fields, a prompt/completion type mismatch, a non-numeric margin
// and a completion without an assistant message are errors naming file:line. Counted skips:
// an empty side (empty text, empty message list or an assistant reply that is only
// whitespace), chosen and rejected tokenizing identically, and examples longer than
// max_seq_len (prompt + the longer completion) under truncation "drop", or under
// "keep_end" when the longer completion does not fit with at least one prompt token.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"

namespace fw::data {

enum class PreferenceTruncation {
  Drop,     // skip examples longer than max_seq_len (counted)
  KeepEnd,  // drop prompt tokens from the left until prompt + the longer completion fits
            // (TRL's keep_end, but the prompt stays shared by both completions: the
            // shorter completion keeps as much prompt as the longer one)
};
constexpr std::array<EnumName<PreferenceTruncation>, 2> enum_names(PreferenceTruncation) {
  return {{{PreferenceTruncation::Drop, "drop"}, {PreferenceTruncation::KeepEnd, "keep_end"}}};
}
PreferenceTruncation preference_truncation_from_name(const std::string& name);  // drop | keep_end

struct PreferenceDataOptions {
  ChatTemplate chat_template = TemplateKind::Plain;  // for conversational records
  int64_t max_seq_len = 2048;  // tokens of prompt + the longer completion
  PreferenceTruncation truncation = PreferenceTruncation::Drop;
  int64_t max_examples = 0;    // read at most this many (0 = all)
};

struct PreferenceExample {
  std::vector<int32_t> prompt_ids;    // shared prompt (with the generation prompt)
  std::vector<int32_t> chosen_ids;    // completion tokens, ending with the end-of-turn token
  std::vector<int32_t> rejected_ids;  // (eos; chatml: <|im_end|> and "\n")
  double margin = 0;                  // "margin" of the record, 0 when absent
};

struct PreferenceDataStats {
  int64_t read = 0;               // examples (non-blank lines) read
  int64_t kept = 0;
  int64_t truncated = 0;          // kept after keep_end truncation
  int64_t implicit_prompt = 0;    // kept records whose prompt was extracted
  int64_t with_margin = 0;        // kept records with a "margin"
  int64_t dropped_too_long = 0;
  int64_t dropped_identical = 0;  // chosen and rejected tokenize the same
  int64_t dropped_empty = 0;      // an empty chosen or rejected side
  int64_t prompt_tokens = 0, completion_tokens = 0;  // kept; completions: chosen + rejected
  std::string summary() const;    // one line for the log
};

struct PreferenceDataset {
  std::vector<PreferenceExample> examples;
  PreferenceDataStats stats;
};

// Reads and tokenizes every file in order. No example left throws fw::Error.
PreferenceDataset load_preference_jsonl(const std::vector<std::string>& files, const Tokenizer& tok,
                                        const PreferenceDataOptions& opts);

// The raw texts of preference files (prompts, completions, message contents), e.g. to train
// a tokenizer for a model made from scratch.
std::vector<std::string> collect_preference_texts(const std::vector<std::string>& files);

// Tokenizes one record (the JSON of one line). Returns false (and bumps the right stats
// counter) for a counted skip; throws fw::Error for malformed records.
bool tokenize_preference_record(const nlohmann::ordered_json& record, const Tokenizer& tok,
                                const PreferenceDataOptions& opts, PreferenceExample& out,
                                PreferenceDataStats& stats);

}  // namespace fw::data
