#include "data/preference_dataset.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/empty_reply.h"
#include "core/json_io.h"
#include "core/strings.h"

namespace fw::data {
namespace {

const char* const kFormatHint =
    "preference JSONL: {\"prompt\": ..., \"chosen\": ..., \"rejected\": ...} with strings or message lists, "
    "or {\"chosen\": [messages], \"rejected\": [messages]} with a shared prefix";

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// The side is empty: no message, or an assistant reply with nothing in it.
bool empty_side(const std::vector<Message>& messages) {
  return messages.empty() || std::any_of(messages.begin(), messages.end(), is_empty_reply);
}

std::vector<Message> messages_field(const nlohmann::ordered_json& value, const std::string& key) {
  try {
    return parse_messages(value);
  } catch (const Error& e) {
    ErrorContext ctx = e.context();
    // parse_messages names "messages[i].x"; name the field instead.
    std::string sub = ctx.key;
    if (sub.rfind("messages", 0) == 0) sub = sub.substr(8);
    ctx.key = key + sub;
    throw Error(e.kind(), e.message(), ctx);
  }
}

// The same message, as TRL's extract_prompt compares dicts: tool calls, reasoning and every
// other field too, in any key order.
bool same(const Message& a, const Message& b) {
  return a.role == b.role && a.content == b.content && nlohmann::json(a.raw) == nlohmann::json(b.raw);
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// TRL's extract_prompt on strings: the texts up to where they first differ; when the
// character before that is a space, the space goes to the completions. Here the cut also
// backs up to a UTF-8 code point boundary (Python indexes code points).
size_t implicit_text_prompt_len(const std::string& chosen, const std::string& rejected) {
  size_t idx = 0;
  const size_t n = std::min(chosen.size(), rejected.size());
  while (idx < n && chosen[idx] == rejected[idx]) ++idx;
  while (idx > 0 && idx < chosen.size() && (static_cast<unsigned char>(chosen[idx]) & 0xc0) == 0x80) --idx;
  if (idx > 0 && idx < n && chosen[idx - 1] == ' ') --idx;
  return idx;
}

void check_has_assistant(const std::vector<Message>& completion, const char* key) {
  if (std::none_of(completion.begin(), completion.end(), [](const Message& m) { return m.role == "assistant"; }))
    throw_invalid(std::string("the ") + key + " completion has no assistant message", {.key = key, .hint = kFormatHint});
}

}  // namespace

PreferenceTruncation preference_truncation_from_name(const std::string& name) {
  return enum_from_name_or_throw<PreferenceTruncation>(name, "truncation");
}

std::string PreferenceDataStats::summary() const {
  return std::to_string(kept) + "/" + std::to_string(read) + " preference pairs kept (" + std::to_string(truncated) +
         " truncated, " + std::to_string(implicit_prompt) + " with an implicit prompt, " +
         std::to_string(with_margin) + " with a margin; skipped: " + std::to_string(dropped_too_long) +
         " too long, " + std::to_string(dropped_identical) + " with identical chosen and rejected, " +
         std::to_string(dropped_empty) + " with an empty side), " + std::to_string(prompt_tokens) +
         " prompt tokens, " + std::to_string(completion_tokens) + " completion tokens";
}

bool tokenize_preference_record(const nlohmann::ordered_json& record, const Tokenizer& tok, const PreferenceDataOptions& opts,
                                PreferenceExample& ex, PreferenceDataStats& stats) {
  if (!record.is_object()) throw_invalid("a preference record must be a JSON object", {.hint = kFormatHint});
  ++stats.read;
  for (const char* key : {"chosen", "rejected"})
    if (!record.contains(key))
      throw_invalid(std::string("missing field \"") + key + "\"", {.key = key, .hint = kFormatHint});
  const auto& c = record["chosen"];
  const auto& r = record["rejected"];
  const bool has_prompt = record.contains("prompt");

  ex = PreferenceExample{};
  bool has_margin = false;
  if (record.contains("margin") && !record["margin"].is_null()) {
    if (!record["margin"].is_number())
      throw_invalid(std::string("margin must be a number, got ") + record["margin"].type_name(), {.key = "margin"});
    ex.margin = record["margin"].get<double>();
    has_margin = true;
  }

  const bool text = c.is_string() && r.is_string() && (!has_prompt || record["prompt"].is_string());
  const bool chat = c.is_array() && r.is_array() && (!has_prompt || record["prompt"].is_array());
  if (!text && !chat)
    throw_invalid(has_prompt ? "\"prompt\", \"chosen\" and \"rejected\" must all be strings or all be message lists"
                             : "\"chosen\" and \"rejected\" must both be strings or both be message lists",
                  {.key = has_prompt ? "prompt" : "chosen", .hint = kFormatHint});

  const nlohmann::ordered_json tools = record_tools(record);
  if (text && tools.is_array() && !tools.empty())
    throw_invalid("tools are rendered by a chat template: give prompt, chosen and rejected as message lists",
                  {.key = "tools", .hint = kFormatHint});
  if (text) {
    std::string prompt, chosen = c.get<std::string>(), rejected = r.get<std::string>();
    if (has_prompt) {
      prompt = record["prompt"].get<std::string>();
    } else {
      const size_t n = implicit_text_prompt_len(chosen, rejected);
      prompt = chosen.substr(0, n);
      chosen = chosen.substr(n);
      rejected = rejected.substr(n);
    }
    if (blank(chosen) || blank(rejected)) {
      ++stats.dropped_empty;
      return false;
    }
    ex.prompt_ids = tok.encode(prompt, /*add_bos=*/tok.bos_id() >= 0);
    ex.chosen_ids = tok.encode_continuation(chosen);
    ex.rejected_ids = tok.encode_continuation(rejected);
    if (tok.eos_id() >= 0) {
      ex.chosen_ids.push_back(tok.eos_id());
      ex.rejected_ids.push_back(tok.eos_id());
    }
  } else {
    std::vector<Message> prompt, chosen = messages_field(c, "chosen"), rejected = messages_field(r, "rejected");
    if (has_prompt) {
      prompt = messages_field(record["prompt"], "prompt");
    } else {
      size_t n = 0;
      while (n < chosen.size() && n < rejected.size() && same(chosen[n], rejected[n])) ++n;
      prompt.assign(chosen.begin(), chosen.begin() + static_cast<long>(n));
      chosen.erase(chosen.begin(), chosen.begin() + static_cast<long>(n));
      rejected.erase(rejected.begin(), rejected.begin() + static_cast<long>(n));
    }
    if (empty_side(chosen) || empty_side(rejected)) {
      ++stats.dropped_empty;
      return false;
    }
    check_has_assistant(chosen, "chosen");
    check_has_assistant(rejected, "rejected");
    auto conversation = [&](const std::vector<Message>& completion) {
      std::vector<Message> all = prompt;
      all.insert(all.end(), completion.begin(), completion.end());
      return encode_chat(tok, opts.chat_template, all, /*add_generation_prompt=*/false, MaskMode::AllAssistant, 0, tools)
          .ids;
    };
    std::vector<int32_t> p =
        encode_chat(tok, opts.chat_template, prompt, /*add_generation_prompt=*/true, MaskMode::AllAssistant, 0, tools).ids;
    std::vector<int32_t> fc = conversation(chosen), fr = conversation(rejected);
    const size_t n = std::min(common_prefix(p, fc), common_prefix(p, fr));
    ex.prompt_ids.assign(p.begin(), p.begin() + static_cast<long>(n));
    ex.chosen_ids.assign(fc.begin() + static_cast<long>(n), fc.end());
    ex.rejected_ids.assign(fr.begin() + static_cast<long>(n), fr.end());
  }

  if (ex.chosen_ids == ex.rejected_ids) {
    ++stats.dropped_identical;
    return false;
  }
  if (ex.chosen_ids.empty() || ex.rejected_ids.empty()) {  // e.g. a reply that tokenizes to nothing
    ++stats.dropped_empty;
    return false;
  }

  const int64_t longer = static_cast<int64_t>(std::max(ex.chosen_ids.size(), ex.rejected_ids.size()));
  const int64_t total = static_cast<int64_t>(ex.prompt_ids.size()) + longer;
  if (total > opts.max_seq_len) {
    const int64_t keep = opts.max_seq_len - longer;  // prompt tokens that still fit
    if (opts.truncation == PreferenceTruncation::Drop || keep < 1) {
      ++stats.dropped_too_long;
      return false;
    }
    ex.prompt_ids.erase(ex.prompt_ids.begin(), ex.prompt_ids.end() - keep);
    ++stats.truncated;
  }

  ++stats.kept;
  if (!has_prompt) ++stats.implicit_prompt;
  if (has_margin) ++stats.with_margin;
  stats.prompt_tokens += static_cast<int64_t>(ex.prompt_ids.size());
  stats.completion_tokens += static_cast<int64_t>(ex.chosen_ids.size() + ex.rejected_ids.size());
  return true;
}

std::vector<std::string> collect_preference_texts(const std::vector<std::string>& files) {
  std::vector<std::string> texts;
  for (const auto& file : files) {
    for_each_jsonl(file, [&](const nlohmann::json& rec, long) {
      if (!rec.is_object()) return;
      for (const char* key : {"prompt", "chosen", "rejected"}) {
        if (!rec.contains(key)) continue;
        const auto& v = rec[key];
        if (v.is_string()) {
          texts.push_back(v.get<std::string>());
        } else if (v.is_array()) {
          for (const auto& m : v)
            if (m.is_object() && m.contains("content") && m["content"].is_string())
              texts.push_back(m["content"].get<std::string>());
        }
      }
    });
  }
  return texts;
}

PreferenceDataset load_preference_jsonl(const std::vector<std::string>& files, const Tokenizer& tok,
                                        const PreferenceDataOptions& opts) {
  if (opts.max_seq_len < 2)
    throw_invalid("max_seq_len must be at least 2 for preference data", {.key = "max_seq_len"});
  PreferenceDataset ds;
  for (const auto& file : files) {
    for_each_jsonl_ordered(file, [&](const nlohmann::ordered_json& record, long) {
      if (opts.max_examples > 0 && ds.stats.read >= opts.max_examples) return;
      PreferenceExample ex;
      if (tokenize_preference_record(record, tok, opts, ex, ds.stats)) ds.examples.push_back(std::move(ex));
    });
  }
  if (ds.examples.empty())
    throw_invalid("no usable preference pairs in " + join(files, ", ") + ": " + ds.stats.summary());
  return ds;
}

}  // namespace fw::data
