#include "data/sft_dataset.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/empty_reply.h"
#include "core/json_io.h"
#include "core/strings.h"

namespace fw::data {
namespace {

// An assistant turn with nothing to train on: no text, no tool calls, no reasoning.
bool has_empty_reply(const std::vector<Message>& messages) {
  return std::any_of(messages.begin(), messages.end(), is_empty_reply);
}

// Plain text prompt + completion, TRL's non-conversational format.
SftExample encode_text_pair(const Tokenizer& tok, const std::string& prompt, const std::string& completion) {
  SftExample ex;
  ex.ids = tok.encode(prompt, /*add_bos=*/tok.bos_id() >= 0);
  ex.train_mask.assign(ex.ids.size(), 0);
  std::vector<int32_t> tail = tok.encode_continuation(completion);
  if (tok.eos_id() >= 0) tail.push_back(tok.eos_id());
  ex.ids.insert(ex.ids.end(), tail.begin(), tail.end());
  ex.train_mask.insert(ex.train_mask.end(), tail.size(), 1);
  return ex;
}

std::vector<Message> messages_field(const nlohmann::ordered_json& record, const char* key) {
  try {
    return parse_messages(record[key]);
  } catch (const Error& e) {
    ErrorContext ctx = e.context();
    // parse_messages names "messages[i].x" (or "messages"); name the record's field instead.
    std::string sub = ctx.key;
    if (sub.rfind("messages", 0) == 0) sub = sub.substr(8);
    ctx.key = std::string(key) + sub;
    throw Error(e.kind(), e.message(), ctx);
  }
}

}  // namespace

std::string SftDataStats::summary() const {
  return std::to_string(kept) + "/" + std::to_string(read) + " examples kept (" + std::to_string(truncated) +
         " truncated; skipped: " + std::to_string(dropped_too_long) + " too long, " +
         std::to_string(dropped_no_target) + " without a trainable token, " + std::to_string(dropped_empty_reply) +
         " with an empty reply), " + std::to_string(tokens) + " tokens, " + std::to_string(trainable_tokens) +
         " trainable";
}

bool tokenize_sft_record(const nlohmann::ordered_json& record, const Tokenizer& tok, const SftDataOptions& opts,
                         SftExample& ex, SftDataStats& stats) {
  if (!record.is_object()) throw_invalid("an SFT record must be a JSON object");
  ++stats.read;
  if (record.contains("messages")) {
    std::vector<Message> messages = messages_field(record, "messages");
    if (has_empty_reply(messages)) {
      ++stats.dropped_empty_reply;
      return false;
    }
    if (std::none_of(messages.begin(), messages.end(), [](const Message& m) { return m.role == "assistant"; }))
      throw_invalid("conversation has no assistant message to train on", {.key = "messages"});
    Encoded e = encode_chat(tok, opts.chat_template, messages, false, opts.mask, 0, record_tools(record));
    ex.ids = std::move(e.ids);
    ex.train_mask = std::move(e.assistant_mask);
  } else if (record.contains("prompt") && record.contains("completion")) {
    const auto& p = record["prompt"];
    const auto& c = record["completion"];
    if (p.is_string() && c.is_string()) {
      if (c.get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
        ++stats.dropped_empty_reply;
        return false;
      }
      ex = encode_text_pair(tok, p.get<std::string>(), c.get<std::string>());
      if (opts.mask == MaskMode::Everything) std::fill(ex.train_mask.begin(), ex.train_mask.end(), 1);
    } else if (p.is_array() && c.is_array()) {
      std::vector<Message> messages = messages_field(record, "prompt");
      std::vector<Message> completion = messages_field(record, "completion");
      if (has_empty_reply(completion)) {
        ++stats.dropped_empty_reply;
        return false;
      }
      const int first_completion = static_cast<int>(messages.size());
      messages.insert(messages.end(), completion.begin(), completion.end());
      // Only the completion is trained on: the prompt's assistant turns are not.
      Encoded whole =
          encode_chat(tok, opts.chat_template, messages, false, opts.mask, first_completion, record_tools(record));
      ex.ids = std::move(whole.ids);
      ex.train_mask = std::move(whole.assistant_mask);
    } else {
      throw_invalid("\"prompt\" and \"completion\" must both be strings or both be message lists", {.key = "prompt"});
    }
  } else {
    throw_invalid("missing field: expected \"messages\", or \"prompt\" and \"completion\"",
                  {.hint = "SFT JSONL: {\"messages\": [...]} or {\"prompt\": ..., \"completion\": ...}"});
  }

  const int64_t n = static_cast<int64_t>(ex.ids.size());
  if (n > opts.max_seq_len) {
    if (opts.truncation == Truncation::Drop) {
      ++stats.dropped_too_long;
      return false;
    }
    const int64_t start = opts.truncation == Truncation::Left ? n - opts.max_seq_len : 0;
    ex.ids = std::vector<int32_t>(ex.ids.begin() + start, ex.ids.begin() + start + opts.max_seq_len);
    ex.train_mask = std::vector<uint8_t>(ex.train_mask.begin() + start, ex.train_mask.begin() + start + opts.max_seq_len);
    ++stats.truncated;
  }
  // The first token is never predicted (nothing comes before it), so it cannot count.
  const int64_t trainable = std::count(ex.train_mask.begin() + (ex.ids.empty() ? 0 : 1), ex.train_mask.end(), 1);
  if (trainable == 0) {
    ++stats.dropped_no_target;
    return false;
  }
  ++stats.kept;
  stats.tokens += static_cast<int64_t>(ex.ids.size());
  stats.trainable_tokens += trainable;
  return true;
}

std::vector<std::string> collect_sft_texts(const std::vector<std::string>& files) {
  std::vector<std::string> texts;
  auto add_messages = [&](const nlohmann::json& list) {
    if (!list.is_array()) return;
    for (const auto& m : list)
      if (m.is_object() && m.contains("content") && m["content"].is_string()) texts.push_back(m["content"].get<std::string>());
  };
  for (const auto& file : files) {
    for_each_jsonl(file, [&](const nlohmann::json& r, long) {
      if (!r.is_object()) return;
      for (const char* key : {"messages", "prompt", "completion", "chosen", "rejected"}) {
        if (!r.contains(key)) continue;
        if (r[key].is_string()) texts.push_back(r[key].get<std::string>());
        else add_messages(r[key]);
      }
    });
  }
  return texts;
}

SftDataset load_sft_jsonl(const std::vector<std::string>& files, const Tokenizer& tok, const SftDataOptions& opts) {
  SftDataset ds;
  for (const auto& file : files) {
    for_each_jsonl_ordered(file, [&](const nlohmann::ordered_json& record, long) {
      if (opts.max_examples > 0 && ds.stats.read >= opts.max_examples) return;
      SftExample ex;
      if (tokenize_sft_record(record, tok, opts, ex, ds.stats)) ds.examples.push_back(std::move(ex));
    });
  }
  if (ds.examples.empty())
    throw_invalid("no trainable examples in " + join(files, ", ") + ": " + ds.stats.summary());
  return ds;
}

}  // namespace fw::data
