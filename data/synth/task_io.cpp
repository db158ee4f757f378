#include "data/synth/task_io.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"
#include "data/synth/verify.h"

namespace fw::synth {
namespace {

const char* kPromptHint =
    "prompt JSONL: {\"id\": ..., \"prompt\": [messages], \"category\": ..., \"reference\": ..., \"difficulty\": 1..3}";

nlohmann::ordered_json messages_json(const std::vector<data::Message>& messages) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) throw_invalid(std::string("missing field \"") + key + "\"", {.key = key, .hint = kPromptHint});
  return j.at(key);
}

std::string string_field(const nlohmann::json& j, const char* key) {
  const auto& v = field(j, key);
  if (!v.is_string()) throw_invalid(std::string("\"") + key + "\" must be a string", {.key = key, .hint = kPromptHint});
  return v.get<std::string>();
}

void write_lines(const std::string& path, const std::vector<Task>& tasks,
                 nlohmann::ordered_json (*to_json)(const Task&)) {
  AtomicFileWriter out(path);
  for (const auto& t : tasks) {
    std::string line = to_json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    out.write(line.data(), line.size());
  }
  out.commit();
}

}  // namespace

nlohmann::ordered_json task_to_prompt_json(const Task& t) {
  nlohmann::ordered_json j;
  j["id"] = t.id;
  j["prompt"] = messages_json(t.messages);
  j["category"] = t.category;
  j["reference"] = t.reference;
  j["difficulty"] = t.difficulty;
  if (!t.problem.empty()) j["problem"] = t.problem;
  return j;
}

nlohmann::ordered_json task_to_sft_json(const Task& t) {
  std::vector<data::Message> messages = t.messages;
  messages.push_back({"assistant", t.reference_response.empty() ? format_answer(t.reference) : t.reference_response});
  nlohmann::ordered_json j;
  j["messages"] = messages_json(messages);
  j["id"] = t.id;
  j["category"] = t.category;
  j["difficulty"] = t.difficulty;
  return j;
}

Task task_from_prompt_json(const nlohmann::json& j) {
  if (!j.is_object()) throw_invalid("a prompt record must be a JSON object", {.hint = kPromptHint});
  Task t;
  t.id = string_field(j, "id");
  if (t.id.empty()) throw_invalid("\"id\" is empty", {.key = "id"});
  const auto& prompt = field(j, "prompt");
  if (prompt.is_string()) {
    t.messages.push_back({"user", prompt.get<std::string>()});
  } else if (prompt.is_array()) {
    try {
      t.messages = data::parse_messages(prompt);
    } catch (const Error& e) {
      ErrorContext ctx = e.context();
      ctx.key = "prompt" + (ctx.key.rfind("messages", 0) == 0 ? ctx.key.substr(8) : (ctx.key.empty() ? "" : "." + ctx.key));
      throw Error(e.kind(), e.message(), ctx);
    }
    if (t.messages.empty()) throw_invalid("\"prompt\" is an empty message list", {.key = "prompt"});
    if (t.messages.back().role != "user")
      throw_invalid("the prompt's last message must be a user turn, got '" + t.messages.back().role + "'",
                    {.key = "prompt"});
  } else {
    throw_invalid("\"prompt\" must be a list of messages or a string", {.key = "prompt", .hint = kPromptHint});
  }
  t.category = string_field(j, "category");
  const auto& ref = field(j, "reference");
  if (ref.is_string()) t.reference = ref.get<std::string>();
  else if (ref.is_number_integer() || ref.is_number_float()) t.reference = ref.dump();
  else throw_invalid("\"reference\" must be a string", {.key = "reference", .hint = kPromptHint});
  t.difficulty = 0;
  if (j.contains("difficulty")) {
    const auto& d = j.at("difficulty");
    if (!d.is_number_integer() || d.get<int64_t>() < kMinDifficulty || d.get<int64_t>() > kMaxDifficulty)
      throw_invalid("\"difficulty\" must be an integer in 1..3", {.key = "difficulty"});
    t.difficulty = d.get<int>();
  }
  if (j.contains("problem")) t.problem = string_field(j, "problem");
  t.reference_response = format_answer(t.reference);
  return t;
}

void write_preference_jsonl(const std::string& path, const std::vector<Task>& tasks, uint64_t seed) {
  AtomicFileWriter out(path);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    Rng rng = Rng::for_index(seed, i, /*stream=*/0x9EF);
    const std::string wrong = perturb_answer(t.reference, rng, /*near=*/rng.bernoulli(0.5));
    nlohmann::ordered_json j;
    j["id"] = t.id;
    j["prompt"] = messages_json(t.messages);
    j["chosen"] = nlohmann::ordered_json::array({{{"role", "assistant"}, {"content", format_answer(t.reference)}}});
    j["rejected"] = nlohmann::ordered_json::array({{{"role", "assistant"}, {"content", format_answer(wrong)}}});
    j["category"] = t.category;
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    out.write(line.data(), line.size());
  }
  out.commit();
}

void write_prompt_jsonl(const std::string& path, const std::vector<Task>& tasks) {
  write_lines(path, tasks, task_to_prompt_json);
}

void write_sft_jsonl(const std::string& path, const std::vector<Task>& tasks) {
  write_lines(path, tasks, task_to_sft_json);
}

std::vector<Task> read_prompt_jsonl(const std::string& path) {
  std::vector<Task> out;
  std::unordered_map<std::string, long> seen;
  for_each_jsonl(path, [&](const nlohmann::json& j, long line) {
    Task t = task_from_prompt_json(j);
    auto [it, fresh] = seen.emplace(t.id, line);
    if (!fresh)
      throw_invalid("duplicate id '" + t.id + "' (first on line " + std::to_string(it->second) + ")", {.key = "id"});
    out.push_back(std::move(t));
  });
  return out;
}

}  // namespace fw::synth
