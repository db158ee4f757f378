// Synthetic tasks as JSONL, in the formats of DESIGN.md §4.
//
//   prompt JSONL  {"id", "prompt": [messages], "category", "reference", "difficulty",
//                  "problem"}   (one task per line; "problem" is the phrasing-free key)
//   SFT JSONL     {"messages": [...prompt messages..., {"role": "assistant", "content":
//                  reference_response}], "id", "category", "difficulty"}
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/synth/tasks.h"

namespace fw::synth {

nlohmann::ordered_json task_to_prompt_json(const Task& task);
nlohmann::ordered_json task_to_sft_json(const Task& task);

// A task from one prompt-JSONL record. Required: "id" (non-empty string), "prompt" (a
// message list ending with a user turn, or a string = one user message), "category"
// (string), "reference" (string, or a number written as one). Optional: "difficulty"
// (integer 1..3; 0 when absent), "problem" (string). reference_response is rebuilt with
// format_answer(). Throws fw::Error (InvalidInput) with the offending key.
Task task_from_prompt_json(const nlohmann::json& record);

// Write all tasks (one record per line; the file is replaced atomically).
void write_prompt_jsonl(const std::string& path, const std::vector<Task>& tasks);
// Preference JSONL (TRL): {"id", "prompt": [messages], "chosen": [the canonical reply],
// "rejected": [a wrong reply], "category"}. Half the rejected answers are near misses,
// half clearly wrong (perturb_answer), drawn from a stream seeded by (seed, task index).
void write_preference_jsonl(const std::string& path, const std::vector<Task>& tasks, uint64_t seed);

void write_sft_jsonl(const std::string& path, const std::vector<Task>& tasks);

// Reads prompt JSONL. Errors name file:line and the key: invalid JSON, a missing or
// mistyped field, a duplicate id.
std::vector<Task> read_prompt_jsonl(const std::string& path);

}  // namespace fw::synth
