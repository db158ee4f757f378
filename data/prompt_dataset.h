// Prompt data (PPO rollouts, arena battles): DESIGN.md §4's prompt JSONL, tokenized with
// the chat template's generation prompt.
//
//   {"id": "...", "prompt": "text" | [messages], "category": "...", "reference": "..."}
//
// "prompt" is required: a string (one user message) or an OpenAI message list ending with
// a user turn. "id" (default "<file>:<line>"), "category" and "reference" are optional
// strings (a numeric reference is written as a string). Malformed lines, a missing or
// mistyped field and a prompt ending in an assistant turn are errors naming file:line.
// Prompts longer than max_prompt_len tokens are skipped under truncation "drop" and cut
// from the left (keeping the end of the dialogue, the part the model answers) under
// "keep_end"; both are counted.
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

struct PromptRecord {
  std::string id;
  std::vector<Message> messages;  // ends with a user turn
  std::string category;           // "" when absent
  std::string reference;          // "" when absent
  bool has_reference = false;
};

// One record (the JSON of one line); `fallback_id` names it when it has no "id".
// Throws fw::Error (InvalidInput) with the offending key.
PromptRecord parse_prompt_record(const nlohmann::ordered_json& record, const std::string& fallback_id);

// Every record of the files, in order. Errors name file:line; duplicate ids are errors.
std::vector<PromptRecord> read_prompt_records(const std::vector<std::string>& files);

enum class PromptTruncation { Drop, KeepEnd };
constexpr std::array<EnumName<PromptTruncation>, 2> enum_names(PromptTruncation) {
  return {{{PromptTruncation::Drop, "drop"}, {PromptTruncation::KeepEnd, "keep_end"}}};
}
PromptTruncation prompt_truncation_from_name(const std::string& name);  // drop | keep_end

struct PromptDataOptions {
  ChatTemplate chat_template = TemplateKind::Plain;
  int64_t max_prompt_len = 1024;  // tokens, generation prompt included
  PromptTruncation truncation = PromptTruncation::Drop;
  int64_t max_examples = 0;       // read at most this many (0 = all)
};

struct PromptExample {
  PromptRecord record;
  std::vector<int32_t> prompt_ids;  // the template's encoding with the generation prompt
};

struct PromptDataStats {
  int64_t read = 0, kept = 0, truncated = 0, dropped_too_long = 0, prompt_tokens = 0;
  std::string summary() const;  // one line for the log
};

struct PromptDataset {
  std::vector<PromptExample> examples;
  PromptDataStats stats;
};

// Reads and tokenizes the files; no prompt left throws fw::Error.
PromptDataset load_prompt_dataset(const std::vector<std::string>& files, const Tokenizer& tok,
                                  const PromptDataOptions& opts);

}  // namespace fw::data
