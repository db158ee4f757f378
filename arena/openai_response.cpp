#include "arena/openai_response.h"

namespace fw::arena {
namespace {

using Json = nlohmann::json;

Json byte_list(const std::string& s) {
  Json out = Json::array();
  for (unsigned char c : s) out.push_back(static_cast<int>(c));
  return out;
}

// Chat's shape: one entry per token.
Json chat_logprobs(const std::vector<TokenLogprob>& lps, const TokenBytes& bytes) {
  Json content = Json::array();
  for (const auto& lp : lps) {
    Json top = Json::array();
    for (const auto& [id, logprob] : lp.top) {
      const std::string b = bytes(id);
      top.push_back({{"token", b}, {"logprob", logprob}, {"bytes", byte_list(b)}});
    }
    const std::string b = bytes(lp.id);
    content.push_back({{"token", b}, {"logprob", lp.logprob}, {"bytes", byte_list(b)}, {"top_logprobs", top}});
  }
  return {{"content", content}, {"refusal", nullptr}};
}

// The legacy completions shape: parallel lists; text_offset counts bytes from `offset`.
Json completion_logprobs(const std::vector<TokenLogprob>& lps, const TokenBytes& bytes, int64_t offset,
                         bool with_top) {
  Json tokens = Json::array(), logprobs = Json::array(), tops = Json::array(), offsets = Json::array();
  for (const auto& lp : lps) {
    const std::string b = bytes(lp.id);
    tokens.push_back(b);
    logprobs.push_back(lp.logprob);
    offsets.push_back(offset);
    offset += static_cast<int64_t>(b.size());
    Json top = Json::object();
    for (const auto& [id, logprob] : lp.top) top[bytes(id)] = logprob;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", logprobs}, {"top_logprobs", with_top ? tops : Json()},
          {"text_offset", offsets}};
}

Json logprobs_json(const ServedRequest& req, const std::vector<TokenLogprob>& lps, const TokenBytes& bytes,
                   int64_t offset) {
  if (!req.logprobs) return nullptr;
  if (req.endpoint == Endpoint::Chat) return chat_logprobs(lps, bytes);
  return completion_logprobs(lps, bytes, offset, req.jobs.front().top_logprobs > 0);
}

Json header(const ResponseHeader& head, const char* object) {
  return {{"id", head.id}, {"object", object}, {"created", head.created}, {"model", head.model}};
}

Json usage(int64_t prompt, int64_t completion) {
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

int64_t choices_per_job(const ServedRequest& req) { return req.jobs.front().n; }

}  // namespace

Json response_body(const ServedRequest& req, const std::vector<CompletionResult>& results, const ResponseHeader& head,
                   const TokenBytes& bytes) {
  const bool chat = req.endpoint == Endpoint::Chat;
  Json body = header(head, chat ? "chat.completion" : "text_completion");
  Json choices = Json::array();
  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (size_t j = 0; j < results.size(); ++j) {
    prompt_tokens += results[j].prompt_tokens;
    for (size_t c = 0; c < results[j].choices.size(); ++c) {
      const CompletionChoice& ch = results[j].choices[c];
      completion_tokens += ch.completion_tokens;
      Json choice = {{"index", static_cast<int64_t>(j) * choices_per_job(req) + static_cast<int64_t>(c)},
                     {"logprobs", logprobs_json(req, ch.logprobs, bytes, 0)},
                     {"finish_reason", ch.finish_reason}};
      if (chat) choice["message"] = {{"role", "assistant"}, {"content", ch.text}};
      else choice["text"] = ch.text;
      choices.push_back(std::move(choice));
    }
  }
  body["choices"] = std::move(choices);
  body["usage"] = usage(prompt_tokens, completion_tokens);
  return body;
}

Json role_chunk(const ServedRequest& req, const ResponseHeader& head, int64_t index) {
  Json chunk = header(head, "chat.completion.chunk");
  chunk["choices"] = Json::array({{{"index", index},
                                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                                   {"logprobs", nullptr},
                                   {"finish_reason", nullptr}}});
  if (req.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

Json event_chunk(const ServedRequest& req, const ResponseHeader& head, int64_t index, const CompletionJob::Event& ev,
                 int64_t text_offset, const TokenBytes& bytes) {
  const bool chat = req.endpoint == Endpoint::Chat;
  Json chunk = header(head, chat ? "chat.completion.chunk" : "text_completion");
  Json choice = {{"index", index},
                 {"logprobs", logprobs_json(req, ev.logprobs, bytes, text_offset)},
                 {"finish_reason", ev.finish_reason.empty() ? Json() : Json(ev.finish_reason)}};
  if (chat) choice["delta"] = ev.delta.empty() ? Json::object() : Json{{"content", ev.delta}};
  else choice["text"] = ev.delta;
  chunk["choices"] = Json::array({choice});
  if (req.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

Json usage_chunk(const ServedRequest& req, const ResponseHeader& head, int64_t prompt_tokens,
                 int64_t completion_tokens) {
  Json chunk = header(head, req.endpoint == Endpoint::Chat ? "chat.completion.chunk" : "text_completion");
  chunk["choices"] = Json::array();
  chunk["usage"] = usage(prompt_tokens, completion_tokens);
  return chunk;
}

std::string sse_event(const Json& j) {
  return "data: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

}  // namespace fw::arena
