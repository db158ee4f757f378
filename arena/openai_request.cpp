#include "arena/openai_request.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/error.h"
#include "data/chat_template.h"

namespace fw::arena {
namespace {

using Json = nlohmann::ordered_json;  // the messages keep their keys in the order sent

bool present(const Json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

[[noreturn]] void bad(const std::string& key, const std::string& message, const std::string& hint = "") {
  throw_invalid("\"" + key + "\" " + message, {.key = key, .hint = hint});
}

double finite_number(const Json& j, const char* key) {
  if (!j[key].is_number()) bad(key, "must be a number");
  const double v = j[key].get<double>();
  if (!std::isfinite(v)) bad(key, "must be a finite number");
  return v;
}

int64_t integer(const Json& j, const char* key, int64_t lo, int64_t hi) {
  const Json& v = j[key];
  if (!v.is_number_integer()) bad(key, "must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    bad(key, "is out of range");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return x;
}

bool boolean(const Json& j, const char* key) {
  if (!j[key].is_boolean()) bad(key, "must be true or false");
  return j[key].get<bool>();
}

// Fields that take one neutral value only: accepted when they hold it (clients send
// defaults), refused otherwise, naming the field.
void neutral_only(const Json& j) {
  for (const char* key : {"presence_penalty", "frequency_penalty"})
    if (present(j, key) && (!j[key].is_number() || j[key].get<double>() != 0))
      bad(key, "is not supported by flywheel serve (only 0)");
  if (present(j, "logit_bias") && !(j["logit_bias"].is_object() && j["logit_bias"].empty()))
    bad("logit_bias", "is not supported by flywheel serve");
  if (present(j, "echo") && j["echo"] != false) bad("echo", "is not supported by flywheel serve");
  if (present(j, "suffix")) bad("suffix", "is not supported by flywheel serve");
  if (present(j, "response_format") && !(j["response_format"].is_object() && j["response_format"].value("type", "") == "text"))
    bad("response_format", "is not supported by flywheel serve (only {\"type\": \"text\"})");
  for (const char* key : {"tools", "tool_choice", "functions", "function_call", "parallel_tool_calls", "audio",
                          "modalities", "prediction", "web_search_options", "reasoning_effort"})
    if (present(j, key)) bad(key, "is not supported by flywheel serve");
}

const std::set<std::string>& known_fields(Endpoint e) {
  static const std::set<std::string> chat = {
      "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "n",
      "stream", "stream_options", "logprobs", "top_logprobs", "user", "presence_penalty", "frequency_penalty",
      "logit_bias", "response_format", "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls",
      "audio", "modalities", "prediction", "web_search_options", "reasoning_effort", "chat_template_kwargs"};
  static const std::set<std::string> completions = {
      "model", "prompt", "temperature", "top_p", "max_tokens", "seed", "stop", "n", "stream", "stream_options",
      "logprobs", "user", "presence_penalty", "frequency_penalty", "logit_bias", "echo", "suffix", "best_of"};
  return e == Endpoint::Chat ? chat : completions;
}

rollout::ChatParams sampling(const Json& j, Endpoint e) {
  rollout::ChatParams p;
  p.temperature = 1.0;
  // Chat: the rest of the context (clipped by the model); completions: OpenAI's 16.
  p.max_tokens = e == Endpoint::Chat ? std::numeric_limits<int32_t>::max() : 16;
  if (present(j, "temperature")) {
    p.temperature = finite_number(j, "temperature");
    if (p.temperature < 0) bad("temperature", "must be >= 0");
  }
  if (present(j, "top_p")) {
    p.top_p = finite_number(j, "top_p");
    if (!(p.top_p > 0 && p.top_p <= 1)) bad("top_p", "must be in (0, 1]");
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"})
    if (present(j, key)) p.max_tokens = integer(j, key, 0, std::numeric_limits<int64_t>::max());
  if (present(j, "seed")) {
    const Json& s = j["seed"];
    if (!s.is_number_integer()) bad("seed", "must be an integer");
    p.seed = s.is_number_unsigned() ? s.get<uint64_t>() : static_cast<uint64_t>(s.get<int64_t>());
  }
  if (present(j, "stop")) {
    const Json& s = j["stop"];
    if (s.is_string()) p.stop.push_back(s.get<std::string>());
    else if (s.is_array() && s.size() <= 4) {
      for (const auto& x : s) {
        if (!x.is_string()) bad("stop", "must be a string or a list of up to 4 strings");
        p.stop.push_back(x.get<std::string>());
      }
    } else {
      bad("stop", "must be a string or a list of up to 4 strings");
    }
    for (const auto& x : p.stop)
      if (x.empty()) bad("stop", "must not hold an empty string");
  }
  return p;
}

}  // namespace

ServedRequest parse_served_request(const Json& j, Endpoint e) {
  if (!j.is_object()) throw_invalid("the body must be a JSON object");
  const auto& known = known_fields(e);
  for (const auto& [key, value] : j.items())
    if (!known.count(key)) bad(key, "is not a field flywheel serve knows", "see README's `flywheel serve`");
  neutral_only(j);

  ServedRequest r;
  r.endpoint = e;
  if (present(j, "model")) {
    if (!j["model"].is_string()) bad("model", "must be a string");
    r.model = j["model"].get<std::string>();
  }
  if (present(j, "stream")) r.stream = boolean(j, "stream");
  if (present(j, "stream_options")) {
    const Json& so = j["stream_options"];
    if (!r.stream) bad("stream_options", "is only allowed with \"stream\": true");
    if (!so.is_object()) bad("stream_options", "must be an object");
    for (const auto& [key, value] : so.items())
      if (key != "include_usage") bad("stream_options." + key, "is not supported by flywheel serve");
    if (so.contains("include_usage")) {
      if (!so["include_usage"].is_boolean()) bad("stream_options.include_usage", "must be true or false");
      r.include_usage = so["include_usage"].get<bool>();
    }
  }
  const rollout::ChatParams params = sampling(j, e);
  const int64_t n = present(j, "n") ? integer(j, "n", 1, kMaxChoices) : 1;
  if (e == Endpoint::Completions && present(j, "best_of") && integer(j, "best_of", 1, kMaxChoices) != n)
    bad("best_of", "is not supported by flywheel serve (only equal to n)");
  int64_t top_logprobs = -1;
  if (e == Endpoint::Chat) {
    if (present(j, "logprobs")) r.logprobs = boolean(j, "logprobs");
    if (present(j, "top_logprobs")) {
      if (!r.logprobs) bad("top_logprobs", "needs \"logprobs\": true");
      top_logprobs = integer(j, "top_logprobs", 0, 20);
    } else if (r.logprobs) {
      top_logprobs = 0;
    }
  } else if (present(j, "logprobs")) {  // the legacy API: an integer, the alternatives per token
    top_logprobs = integer(j, "logprobs", 0, 20);
    r.logprobs = true;
  }

  CompletionJob base{.messages = {}, .prompt = std::nullopt, .params = params, .n = n, .top_logprobs = top_logprobs};
  if (e == Endpoint::Chat) {
    if (!j.contains("messages")) bad("messages", "is missing");
    base.messages = data::parse_messages(j["messages"]);
    if (present(j, "chat_template_kwargs")) {  // vLLM's extension, e.g. {"enable_thinking": false}
      if (!j["chat_template_kwargs"].is_object()) bad("chat_template_kwargs", "must be an object");
      base.template_kwargs = j["chat_template_kwargs"];
    }
    r.jobs.push_back(std::move(base));
  } else {
    if (!j.contains("prompt")) bad("prompt", "is missing");
    const Json& p = j["prompt"];
    std::vector<std::string> prompts;
    if (p.is_string()) prompts.push_back(p.get<std::string>());
    else if (p.is_array() && !p.empty() && std::all_of(p.begin(), p.end(), [](const Json& x) { return x.is_string(); }))
      for (const auto& x : p) prompts.push_back(x.get<std::string>());
    else
      bad("prompt", "must be a string or a non-empty list of strings (token-id prompts are not supported)");
    if (static_cast<int64_t>(prompts.size()) * n > kMaxChoices)
      bad("prompt", "asks for more than " + std::to_string(kMaxChoices) + " choices (prompts x n)");
    for (auto& text : prompts) {
      CompletionJob job = base;
      job.prompt = std::move(text);
      r.jobs.push_back(std::move(job));
    }
  }
  return r;
}

}  // namespace fw::arena
