// flywheel generate --model DIR (--prompt TEXT | --prompts FILE.jsonl) [sampling flags]
// Prompts are encoded with the model's chat template (or as raw text), generated in
// batches with the KV cache, and written as JSONL: {"id", "response", "prompt_tokens",
// "completion_tokens", "finish_reason"}.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/model_loading.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "apps/template_kwargs_flag.h"
#include "data/chat_template.h"
#include "data/generation_prompt.h"
#include "data/tokenizer.h"
#include "model/checkpoint.h"
#include "model/generation_config.h"
#include "rollout/generate.h"

namespace fw::apps {
namespace fs = std::filesystem;
namespace {

struct GenerateFlags {
  std::string model_dir, prompt, prompts_file, out_file;
  std::string template_name = "auto";  // auto | none | plain | chatml | llama2
  std::string template_kwargs;         // --chat-template-kwargs JSON
  int64_t max_new_tokens = 128;
  double temperature = 0.0, top_p = 1.0, repetition_penalty = 1.0;
  int64_t top_k = 0;
  // Set on the command line? Unset sampling flags take the model's generation_config.json.
  const CLI::Option *temperature_flag = nullptr, *top_p_flag = nullptr, *top_k_flag = nullptr,
                    *repetition_penalty_flag = nullptr;
  std::vector<std::string> stop;
  uint64_t seed = 0;
  int batch_size = 8;
  DeviceFlags device;
};

struct Prompt {
  std::string id;
  std::vector<data::Message> messages;  // a chat prompt, or
  std::string text;                     // raw text (used when messages is empty)
};

std::vector<Prompt> read_prompts(const GenerateFlags& f) {
  std::vector<Prompt> out;
  if (!f.prompt.empty()) {
    out.push_back({"0", {}, f.prompt});
    return out;
  }
  for_each_jsonl_ordered(f.prompts_file, [&](const nlohmann::ordered_json& j, long line) {
    if (!j.is_object() || !j.contains("prompt"))
      throw_invalid("missing field \"prompt\"", {.hint = "prompt JSONL: {\"id\": ..., \"prompt\": \"...\" | [messages]}"});
    Prompt p;
    p.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : std::to_string(line);
    if (j["prompt"].is_string()) p.text = j["prompt"].get<std::string>();
    else if (j["prompt"].is_array()) p.messages = data::parse_messages(j["prompt"]);
    else throw_invalid("\"prompt\" must be a string or a list of messages", {.key = "prompt"});
    out.push_back(std::move(p));
  });
  return out;
}

std::vector<int64_t> encode_prompt(const Prompt& p, const data::Tokenizer& tok,
                                   const std::optional<data::ChatTemplate>& tmpl) {
  const std::vector<int32_t> ids = data::encode_generation_prompt(tok, tmpl, p.messages, p.text, p.id);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

void run_generate(const GenerateFlags& f) {
  if (f.prompt.empty() == f.prompts_file.empty())
    throw_invalid("give exactly one of --prompt and --prompts", {.key = "--prompt"});
  f.device.apply_threads();
  const at::Device device = f.device.resolve_device();
  // "auto": the template the model folder declares; raw text when it declares none.
  auto tmpl = data::resolve_template(f.model_dir, f.template_name);
  const nlohmann::ordered_json kwargs = template_kwargs_from_flag(f.template_kwargs);
  if (!kwargs.empty()) {
    if (!tmpl) throw_invalid("the prompts are raw text (no chat template) here", {.key = "--chat-template-kwargs"});
    tmpl = tmpl->with_kwargs(kwargs);
  }
  data::Tokenizer tok = data::Tokenizer::load(f.model_dir);
  std::vector<Prompt> prompts = read_prompts(f);
  model::LlamaForCausalLM lm = model::load_causal_lm(f.model_dir, {.dtype = f.device.resolve_dtype(), .device = device});
  lm->eval();

  const model::GenerationConfig generation = model::GenerationConfig::load(f.model_dir);
  const model::GenerationConfig::Sampling defaults = generation.sampling_defaults();
  auto given = [](const CLI::Option* flag) { return flag && flag->count() > 0; };
  rollout::GenerateOptions opts;
  opts.max_new_tokens = f.max_new_tokens;
  opts.sampling = {.temperature = given(f.temperature_flag) ? f.temperature : defaults.temperature,
                   .top_k = given(f.top_k_flag) ? f.top_k : defaults.top_k,
                   .top_p = given(f.top_p_flag) ? f.top_p : defaults.top_p,
                   .repetition_penalty = given(f.repetition_penalty_flag) ? f.repetition_penalty
                                                                          : defaults.repetition_penalty};
  opts.stop_strings = f.stop;
  opts.detokenize = [&tok](const std::vector<int64_t>& ids) {
    return tok.decode(std::vector<int32_t>(ids.begin(), ids.end()));
  };
  opts.seed = f.seed;
  opts.pad_id = std::max(0, tok.pad_or_eos_id());
  opts.eos_ids = model::stop_token_ids(generation, lm->config(), tok.eos_id());

  std::vector<std::vector<int64_t>> encoded;
  for (const auto& p : prompts) encoded.push_back(encode_prompt(p, tok, tmpl));
  for (size_t i = 0; i < encoded.size(); ++i)
    if (static_cast<int64_t>(encoded[i].size()) + f.max_new_tokens > lm->config().max_position_embeddings)
      log::warn("prompt '" + prompts[i].id + "' plus max_new_tokens exceeds the model's " +
                std::to_string(lm->config().max_position_embeddings) + " positions");

  // Batches of similar length waste less compute on padding; output keeps input order.
  std::vector<size_t> order(prompts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return encoded[a].size() < encoded[b].size(); });
  std::vector<rollout::Generation> results(prompts.size());
  rollout::GenerateStats stats;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(f.batch_size)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(f.batch_size));
    std::vector<std::vector<int64_t>> batch;
    for (size_t k = start; k < end; ++k) batch.push_back(encoded[order[k]]);
    rollout::GenerateOptions batch_opts = opts;
    batch_opts.seed = opts.seed + start;  // distinct streams per batch, reproducible overall
    auto gens = rollout::generate(lm, batch, batch_opts, &stats);
    for (size_t k = start; k < end; ++k) results[order[k]] = std::move(gens[k - start]);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::unique_ptr<JsonlWriter> writer;
  if (!f.out_file.empty()) writer = std::make_unique<JsonlWriter>(f.out_file);
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int32_t> ids(results[i].tokens.begin(), results[i].tokens.end());
    nlohmann::ordered_json rec = {{"id", prompts[i].id},
                          {"response", tok.decode(ids)},
                          {"prompt_tokens", encoded[i].size()},
                          {"completion_tokens", ids.size()},
                          {"finish_reason", results[i].finish_reason()}};
    if (writer) writer->write(rec);
    else std::printf("%s\n", rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  std::fflush(stdout);
  log::info(std::to_string(prompts.size()) + " prompt(s), " + std::to_string(stats.generated_tokens) +
            " tokens generated in " + std::to_string(seconds) + " s (" +
            std::to_string(stats.generated_tokens / std::max(seconds, 1e-9)) + " tokens/s)");
}

}  // namespace

Run add_generate_command(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  app.add_option("--model", f->model_dir, "model folder (config.json, safetensors, tokenizer.model)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--prompt", f->prompt, "one prompt (raw text, or a user message under a chat template)");
  app.add_option("--prompts", f->prompts_file, "prompt JSONL: {\"id\", \"prompt\": text | [messages]}")
      ->check(CLI::ExistingFile);
  app.add_option("--out", f->out_file, "write JSONL here instead of stdout");
  app.add_option("--template", f->template_name, "auto | none | jinja | plain | chatml | llama2 | FILE.jinja")->capture_default_str();
  add_template_kwargs_flag(app, f->template_kwargs);
  app.add_option("--max-new-tokens", f->max_new_tokens, "tokens to generate at most")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  // Unset, these four take the model's generation_config.json (greedy when it has none).
  f->temperature_flag = app.add_option("--temperature", f->temperature, "0 = greedy; default: the model's generation_config.json")
                            ->check(CLI::NonNegativeNumber);
  f->top_k_flag = app.add_option("--top-k", f->top_k, "0 = off")->check(CLI::NonNegativeNumber);
  f->top_p_flag = app.add_option("--top-p", f->top_p, "1 = off")->check(CLI::Range(1e-9, 1.0));
  f->repetition_penalty_flag =
      app.add_option("--repetition-penalty", f->repetition_penalty, "> 1 discourages repeated tokens; 1 = off")
          ->check(CLI::PositiveNumber);
  app.add_option("--stop", f->stop, "stop string (repeatable): a response ends once it contains one");
  app.add_option("--seed", f->seed, "sampling seed")->capture_default_str();
  app.add_option("--batch-size", f->batch_size, "prompts per batch")->capture_default_str()->check(CLI::PositiveNumber);
  f->device.add_to(app);
  return [f] { run_generate(*f); };
}

}  // namespace fw::apps
