#include "data/prompt_dataset.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/error.h"
#include "core/json_io.h"
#include "core/strings.h"

namespace fw::data {
namespace {

const char* const kFormatHint =
    "prompt JSONL: {\"id\": \"...\", \"prompt\": \"text\" | [messages], \"category\": \"...\", \"reference\": \"...\"}";

std::string optional_string(const nlohmann::ordered_json& record, const char* key, bool allow_number) {
  auto it = record.find(key);
  if (it == record.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (allow_number && it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (allow_number && it->is_number()) return it->dump();
  throw_invalid(std::string("\"") + key + "\" must be a string", {.key = key, .hint = kFormatHint});
}

}  // namespace

PromptRecord parse_prompt_record(const nlohmann::ordered_json& record, const std::string& fallback_id) {
  if (!record.is_object()) throw_invalid("a prompt record must be a JSON object", {.hint = kFormatHint});
  PromptRecord r;
  r.id = optional_string(record, "id", /*allow_number=*/true);
  if (r.id.empty()) r.id = fallback_id;
  auto prompt = record.find("prompt");
  if (prompt == record.end()) throw_invalid("missing \"prompt\"", {.key = "prompt", .hint = kFormatHint});
  if (prompt->is_string()) {
    r.messages = {{"user", prompt->get<std::string>()}};
  } else if (prompt->is_array()) {
    try {
      r.messages = parse_messages(*prompt);
    } catch (const Error& e) {
      ErrorContext ctx = e.context();
      if (ctx.key.rfind("messages", 0) == 0) ctx.key = "prompt" + ctx.key.substr(8);
      throw Error(e.kind(), e.message(), ctx);
    }
  } else {
    throw_invalid("\"prompt\" must be a string or a list of messages", {.key = "prompt", .hint = kFormatHint});
  }
  if (r.messages.empty()) throw_invalid("\"prompt\" has no message", {.key = "prompt"});
  if (r.messages.back().role != "user")
    throw_invalid("the prompt must end with a user turn (it ends with '" + r.messages.back().role + "')",
                  {.key = "prompt[" + std::to_string(r.messages.size() - 1) + "].role"});
  r.category = optional_string(record, "category", false);
  r.has_reference = record.contains("reference") && !record.at("reference").is_null();
  r.reference = optional_string(record, "reference", /*allow_number=*/true);
  return r;
}

std::vector<PromptRecord> read_prompt_records(const std::vector<std::string>& files) {
  std::vector<PromptRecord> out;
  std::unordered_set<std::string> ids;
  for (const auto& file : files) {
    if (!std::filesystem::is_regular_file(file)) throw_invalid("prompt file not found", {.file = file});
    for_each_jsonl_ordered(file, [&](const nlohmann::ordered_json& j, long line) {
      PromptRecord r = parse_prompt_record(j, file + ":" + std::to_string(line));
      if (!ids.insert(r.id).second) throw_invalid("duplicate prompt id '" + r.id + "'", {.key = "id"});
      out.push_back(std::move(r));
    });
  }
  return out;
}

PromptTruncation prompt_truncation_from_name(const std::string& name) {
  return enum_from_name_or_throw<PromptTruncation>(name, "truncation");
}

std::string PromptDataStats::summary() const {
  return std::to_string(kept) + "/" + std::to_string(read) + " prompts kept (" + std::to_string(truncated) +
         " cut from the left; skipped: " + std::to_string(dropped_too_long) + " too long), " +
         std::to_string(prompt_tokens) + " prompt tokens";
}

PromptDataset load_prompt_dataset(const std::vector<std::string>& files, const Tokenizer& tok,
                                  const PromptDataOptions& opts) {
  PromptDataset ds;
  std::vector<PromptRecord> records = read_prompt_records(files);
  for (auto& r : records) {
    if (opts.max_examples > 0 && ds.stats.read >= opts.max_examples) break;
    ++ds.stats.read;
    Encoded enc = encode_chat(tok, opts.chat_template, r.messages, /*add_generation_prompt=*/true);
    std::vector<int32_t> ids = std::move(enc.ids);
    const auto limit = static_cast<size_t>(opts.max_prompt_len);
    if (ids.size() > limit) {
      if (opts.truncation == PromptTruncation::Drop) {
        ++ds.stats.dropped_too_long;
        continue;
      }
      ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(limit));
      ++ds.stats.truncated;
    }
    ++ds.stats.kept;
    ds.stats.prompt_tokens += static_cast<int64_t>(ids.size());
    ds.examples.push_back({std::move(r), std::move(ids)});
  }
  if (ds.examples.empty()) {
    std::string list;
    for (const auto& f : files) list += (list.empty() ? "" : ", ") + f;
    throw_invalid("no prompt left to train on in " + list + " (" + ds.stats.summary() + ")",
                  {.hint = "raise max_prompt_len or use truncation: keep_end"});
  }
  return ds;
}

}  // namespace fw::data
