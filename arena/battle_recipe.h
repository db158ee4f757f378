// The battle recipe's sections (`flywheel battle RECIPE.yaml`, and the flywheel's battle
// stages): competitors, the judge, the HTTP client. Typed structs bound from YAML by
// config/ through `visit`; arena/ itself never includes config/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arena/verdict.h"
#include "data/chat_template.h"

namespace fw::arena {

struct SamplingSection {
  double temperature = 0.0;   // 0 = greedy
  double top_p = 1.0;
  int64_t max_tokens = 128;
  int64_t seed = 0;
  std::vector<std::string> stop;
  template <class V>
  void visit(V& v) {
    v.field("temperature", temperature, "0 = greedy").range(0.0, 100.0);
    v.field("top_p", top_p).range(1e-6, 1.0);
    v.field("max_tokens", max_tokens, "new tokens per response").min(1);
    v.field("seed", seed).min(0);
    v.field("stop", stop, "the response ends before any of these");
  }
};

struct CompetitorSection {
  std::string name;                  // as it appears in battles and leaderboards
  std::string kind = "local";        // local | remote | simulated
  std::string model;                 // local: checkpoint folder; remote: the model id sent
  std::string chat_template = "auto";  // local: auto | plain | chatml | llama2
  // local: keyword arguments for the model's own template (e.g. {enable_thinking: false})
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  int64_t max_batch = 16;            // local: sequences per generate call
  std::string base_url;              // remote: e.g. http://host:8000/v1
  std::string api_key_env;           // remote: NAME of the variable holding the key
  double accuracy = 0.5;             // simulated: P(correct) outside by_category
  std::map<std::string, double> by_category;  // simulated: P(correct) per category
  double near_miss = 0.5;            // simulated: share of wrong answers that are near misses
  int64_t seed = 0;                  // simulated: answer stream
  SamplingSection sampling;          // local, remote
  template <class V>
  void visit(V& v) {
    v.field("name", name, "name in battles and leaderboards").required();
    v.field("kind", kind).one_of({"local", "remote", "simulated"});
    v.field("model", model, "local: checkpoint folder; remote: model id");
    v.field("chat_template", chat_template, "auto | jinja | plain | chatml | llama2 | a .jinja file");
    v.check(data::is_chat_template_setting(chat_template), "chat_template",
            std::string("must be ") + data::kChatTemplateSettings + ", got '" + chat_template + "'");
    v.field("chat_template_kwargs", chat_template_kwargs, "local: template keyword arguments, e.g. {enable_thinking: false}");
    v.check(chat_template_kwargs.is_object() || chat_template_kwargs.is_null(), "chat_template_kwargs",
            "must be a map of name: value");
    v.field("max_batch", max_batch, "local: sequences per generate call").min(1);
    v.field("base_url", base_url, "remote: OpenAI-compatible base URL (…/v1)");
    v.field("api_key_env", api_key_env, "remote: environment variable holding the API key");
    v.field("accuracy", accuracy, "simulated: P(correct)").range(0.0, 1.0);
    v.field("by_category", by_category, "simulated: P(correct) per category");
    v.field("near_miss", near_miss, "simulated: share of near misses among wrong answers").range(0.0, 1.0);
    v.field("seed", seed).min(0);
    v.section("sampling", sampling);
    v.check(kind != "local" || !model.empty(), "model", "a local competitor needs model: a checkpoint folder");
    v.check(kind != "remote" || (!base_url.empty() && !model.empty()), "base_url",
            "a remote competitor needs base_url and model");
  }
};

struct JudgeSection {
  std::string kind = "rule";         // rule | llm | rm
  std::string name;                  // in battle records; empty = the kind (or llm's model)
  std::string model;                 // llm: local folder (no base_url) or remote model id; rm: folder
  std::string base_url;              // llm: remote endpoint
  std::string api_key_env;
  std::string template_file;         // llm: prompt template; empty = the built-in one
  int64_t max_attempts = 3;          // llm: tries for an unparseable judgment
  double retry_temperature = 0.7;
  int64_t max_tokens = 512;
  std::string chat_template = "auto";  // local llm / rm
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();  // local llm / rm
  int64_t max_batch = 16;
  template <class V>
  void visit(V& v) {
    v.field("kind", kind, "rule (the synthetic verifier) | llm | rm").one_of({"rule", "llm", "rm"});
    v.field("name", name, "judge name in records; empty = kind / model");
    v.field("model", model, "llm: folder or remote model id; rm: reward model folder");
    v.field("base_url", base_url, "llm: remote OpenAI-compatible endpoint; empty = local model");
    v.field("api_key_env", api_key_env, "llm: environment variable holding the API key");
    v.field("template_file", template_file, "llm: prompt template ({history} {question} {answer_1} {answer_2})");
    v.field("max_attempts", max_attempts, "llm: tries before a judgment is recorded unparseable").range(1, 20);
    v.field("retry_temperature", retry_temperature).range(0.0, 2.0);
    v.field("max_tokens", max_tokens).min(1);
    v.field("chat_template", chat_template, "auto | jinja | plain | chatml | llama2 | a .jinja file");
    v.check(data::is_chat_template_setting(chat_template), "chat_template",
            std::string("must be ") + data::kChatTemplateSettings + ", got '" + chat_template + "'");
    v.field("chat_template_kwargs", chat_template_kwargs,
            "local llm / rm: template keyword arguments, e.g. {enable_thinking: false}");
    v.check(chat_template_kwargs.is_object() || chat_template_kwargs.is_null(), "chat_template_kwargs",
            "must be a map of name: value");
    v.field("max_batch", max_batch).min(1);
    v.check(kind == "rule" || !model.empty(), "model", "an llm or rm judge needs model");
  }
};

struct ClientSection {
  double timeout_s = 120;
  int64_t max_retries = 6;
  int64_t max_concurrency = 8;
  double backoff_initial_s = 0.5;
  double backoff_max_s = 30;
  template <class V>
  void visit(V& v) {
    v.field("timeout_s", timeout_s, "per request").range(0.01, 86400.0);
    v.field("max_retries", max_retries, "on 429, 5xx, timeouts, dropped connections").range(0, 100);
    v.field("max_concurrency", max_concurrency, "requests in flight per endpoint").range(1, 1024);
    v.field("backoff_initial_s", backoff_initial_s).range(0.0, 3600.0);
    v.field("backoff_max_s", backoff_max_s).range(0.0, 3600.0);
  }
};

// Where local models run.
struct ArenaDeviceSection {
  std::string device = "cpu";   // cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (the checkpoint's) | float32 | bfloat16
  int64_t threads = 0;          // CPU intra-op threads; 0 = default
  // true: a local model stays loaded for the rest of the battle run once used (fast for
  // small models); false: each is freed after answering its share of a chunk, so only one
  // competitor's weights are in memory at a time (big models; pair it with a large
  // chunk_prompts, e.g. the whole prompt set, so each model loads once).
  bool keep_models = true;
  template <class V>
  void visit(V& v) {
    v.field("device", device, "cpu | cuda | cuda:N");
    v.field("dtype", dtype).one_of({"auto", "float32", "bfloat16"});
    v.field("threads", threads, "CPU threads; 0 = default").min(0);
    v.field("keep_models", keep_models, "false: free each local model after it answers a chunk (big models)");
  }
};

struct BattleRecipe {
  std::string output_dir;            // responses, judgments, battles, summary, config.yaml
  std::vector<std::string> prompts;  // prompt JSONL (DESIGN.md §4)
  int64_t max_prompts = 0;           // 0 = all
  std::string pairs = "all";         // all | target
  std::string target;                // pairs: target — the target competitor's name
  std::vector<CompetitorSection> competitors;
  JudgeSection judge;
  VerdictMode verdict = VerdictMode::Sum;  // sum | agree
  double tie_margin = 0.0;
  ClientSection client;
  ArenaDeviceSection compute;
  int64_t chunk_prompts = 64;
  bool record_time = true;
  template <class V>
  void visit(V& v) {
    v.field("output_dir", output_dir, "run folder").required();
    v.field("prompts", prompts, "prompt JSONL files").required().non_empty();
    v.field("max_prompts", max_prompts, "0 = all").min(0);
    v.field("pairs", pairs, "all pairs, or the target against each other competitor").one_of({"all", "target"});
    v.field("target", target, "pairs: target — the target's name");
    v.field("competitors", competitors).required().non_empty();
    v.section("judge", judge);
    v.field("verdict", verdict, "sum: totals over both games; agree: both games must agree");
    v.field("tie_margin", tie_margin, "a score gap at or below this ties").min(0.0);
    v.section("client", client);
    v.section("compute", compute);
    v.field("chunk_prompts", chunk_prompts, "prompts per chunk: responses, judgments, then records").min(1);
    v.field("record_time", record_time, "false: tstamp 0 (byte-identical reruns)");
    v.check(competitors.size() >= 2, "competitors", "a battle needs at least two competitors");
    v.check(pairs != "target" || !target.empty(), "target", "pairs: target needs target: NAME");
  }
};

}  // namespace fw::arena
