// SFT data: JSONL in TRL's formats, tokenized with a chat template into token ids plus a
// mask of the tokens to train on.
//
//   {"messages": [{"role": ..., "content": ...}, ...]}       conversational
//   {"prompt": [messages], "completion": [messages]}          conversational prompt-completion
//   {"prompt": "text", "completion": "text"}                  plain text: bos + prompt +
//                                                             completion + eos, loss on the
//                                                             completion and eos (as TRL)
//
// A conversational record may carry "tools" (OpenAI function schemas), which the model's
// own Jinja template renders, as TRL passes a dataset's tools column to
// apply_chat_template.
//
// Malformed lines and missing fields are errors naming file:line. Examples that cannot be
// trained are skipped and counted: longer than max_seq_len (under truncation "drop"), no
// trainable token left (e.g. truncated away), an empty assistant reply.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"

namespace fw::data {

enum class Truncation {
  Drop,   // skip examples longer than max_seq_len (counted)
  Right,  // keep the first max_seq_len tokens
  Left,   // keep the last max_seq_len tokens (keeps the final reply)
};
constexpr std::array<EnumName<Truncation>, 3> enum_names(Truncation) {
  return {{{Truncation::Drop, "drop"}, {Truncation::Right, "right"}, {Truncation::Left, "left"}}};
}

struct SftDataOptions {
  ChatTemplate chat_template = TemplateKind::Plain;
  MaskMode mask = MaskMode::AllAssistant;  // which tokens are trained on
  int64_t max_seq_len = 2048;
  Truncation truncation = Truncation::Drop;
  int64_t max_examples = 0;  // read at most this many (0 = all)
};

struct SftExample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> train_mask;  // 1 = the model learns to produce this token
};

struct SftDataStats {
  int64_t read = 0;              // examples (non-blank lines) read
  int64_t kept = 0;
  int64_t truncated = 0;         // kept after truncation
  int64_t dropped_too_long = 0;  // truncation "drop"
  int64_t dropped_no_target = 0; // no trainable token (after truncation)
  int64_t dropped_empty_reply = 0;
  int64_t tokens = 0, trainable_tokens = 0;
  std::string summary() const;   // one line for the log
};

struct SftDataset {
  std::vector<SftExample> examples;
  SftDataStats stats;
};

// Reads and tokenizes every file in order.
SftDataset load_sft_jsonl(const std::vector<std::string>& files, const Tokenizer& tok, const SftDataOptions& opts);

// The raw texts of SFT or preference files (message contents, prompts, completions,
// chosen and rejected replies), e.g. to train a tokenizer for a model made from scratch.
std::vector<std::string> collect_sft_texts(const std::vector<std::string>& files);

// Tokenizes one record (the JSON of one line). Returns false (and bumps the right stats
// counter) for a counted skip; throws fw::Error for malformed records.
bool tokenize_sft_record(const nlohmann::ordered_json& record, const Tokenizer& tok, const SftDataOptions& opts,
                         SftExample& out, SftDataStats& stats);

}  // namespace fw::data
