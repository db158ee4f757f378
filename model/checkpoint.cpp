#include "model/checkpoint.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "model/safetensors_io.h"

namespace fw::model {
namespace fs = std::filesystem;
namespace {

// Tensors some checkpoints carry that are not parameters (older transformers saved the
// rotary frequencies).
bool ignorable(const std::string& name) { return ends_with(name, "rotary_emb.inv_freq"); }

// Copies `tensors` into the module's parameters. `skip` lists checkpoint tensors to
// ignore; `fresh` lists parameters the checkpoint need not provide.
void load_parameters(torch::nn::Module& module, NamedTensors tensors, const std::string& dir,
                     const std::set<std::string>& skip, const std::set<std::string>& fresh) {
  std::map<std::string, at::Tensor> by_name;
  for (auto& [name, t] : tensors) by_name[name] = std::move(t);
  at::NoGradGuard no_grad;
  std::vector<std::string> missing;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    auto it = by_name.find(item.key());
    if (it == by_name.end()) {
      if (!fresh.count(item.key())) missing.push_back(item.key());
      continue;
    }
    at::Tensor& param = item.value();
    if (it->second.sizes() != param.sizes()) {
      throw_invalid("shape " + c10::str(it->second.sizes()) + " in the checkpoint, but the config implies " +
                        c10::str(param.sizes()),
                    {.file = dir, .key = item.key(), .hint = "config.json does not match the weights"});
    }
    param.copy_(it->second);
    by_name.erase(it);
  }
  if (!missing.empty())
    throw_invalid("checkpoint lacks " + std::to_string(missing.size()) + " tensor(s): " +
                      join(std::vector<std::string>(missing.begin(), missing.begin() + std::min<size_t>(5, missing.size())), ", "),
                  {.file = dir});
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : by_name)
    if (!skip.count(name) && !ignorable(name)) unexpected.push_back(name);
  if (!unexpected.empty())
    throw_invalid("checkpoint has " + std::to_string(unexpected.size()) + " tensor(s) this architecture does not use: " +
                      join(std::vector<std::string>(unexpected.begin(), unexpected.begin() + std::min<size_t>(5, unexpected.size())), ", "),
                  {.file = dir});
}

NamedTensors named_parameters(torch::nn::Module& module) {
  NamedTensors out;
  for (auto& item : module.named_parameters(true)) out.emplace_back(item.key(), item.value());
  return out;
}

void write_generation_config(const LlamaConfig& c, const std::string& dir) {
  nlohmann::ordered_json g = nlohmann::ordered_json::object();
  if (c.bos_token_id) g["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) g["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) g["eos_token_id"] = c.eos_token_ids;
  if (c.pad_token_id) g["pad_token_id"] = *c.pad_token_id;
  write_file_atomic((fs::path(dir) / "generation_config.json").string(), g.dump(2) + "\n");
}

at::ScalarType module_dtype(torch::nn::Module& m) {
  auto params = m.parameters();
  return params.empty() ? at::kFloat : params.front().scalar_type();
}

}  // namespace

at::ScalarType dtype_from_name(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  throw_invalid("unknown dtype '" + name + "'", {.hint = "float32, bfloat16 or float16"});
}

std::string dtype_to_name(at::ScalarType t) {
  if (t == at::kFloat) return "float32";
  if (t == at::kBFloat16) return "bfloat16";
  if (t == at::kHalf) return "float16";
  return at::toString(t);
}

LlamaForCausalLM load_causal_lm(const std::string& dir, const LoadOptions& opts) {
  LlamaConfig config = LlamaConfig::load(dir);
  if (config.is_sequence_classifier())
    throw_invalid("this is a " + config.architecture + " checkpoint, not a causal language model", {.file = dir});
  LlamaForCausalLM model(config);
  std::set<std::string> skip;
  if (config.tie_word_embeddings) skip.insert("lm_head.weight");  // some writers keep the tied copy
  load_parameters(*model, load_safetensors_dir(dir), dir, skip, {});
  model->to(opts.device, opts.dtype.value_or(dtype_from_name(config.dtype)));
  return model;
}

LlamaForScore load_score_model(const std::string& dir, const LoadOptions& opts) {
  LlamaConfig config = LlamaConfig::load(dir);
  const bool from_lm = !config.is_sequence_classifier();
  if (from_lm) {
    config.architecture = config.model_type == "qwen2"     ? "Qwen2ForSequenceClassification"
                          : config.model_type == "qwen3"   ? "Qwen3ForSequenceClassification"
                          : config.model_type == "mistral" ? "MistralForSequenceClassification"
                                                            : "LlamaForSequenceClassification";
    config.num_labels = 1;
    config.tie_word_embeddings = false;
  }
  LlamaForScore model(config);
  {
    at::NoGradGuard no_grad;
    model->score->weight.normal_(0.0, 0.02);
  }
  std::set<std::string> skip = {"lm_head.weight"};
  std::set<std::string> fresh;
  if (from_lm) fresh.insert("score.weight");
  load_parameters(*model, load_safetensors_dir(dir), dir, skip, fresh);
  model->to(opts.device, opts.dtype.value_or(dtype_from_name(config.dtype)));
  return model;
}

void save_causal_lm(LlamaForCausalLM& model, const std::string& dir) {
  fs::create_directories(dir);
  LlamaConfig c = model->config();
  c.dtype = dtype_to_name(module_dtype(*model));
  if (c.is_sequence_classifier()) c.architecture = "LlamaForCausalLM";
  save_safetensors_dir(dir, named_parameters(*model));
  c.save(dir);
  write_generation_config(c, dir);
}

void save_score_model(LlamaForScore& model, const std::string& dir) {
  fs::create_directories(dir);
  LlamaConfig c = model->config();
  c.dtype = dtype_to_name(module_dtype(*model));
  save_safetensors_dir(dir, named_parameters(*model));
  c.save(dir);
}

void copy_tokenizer_files(const std::string& from_dir, const std::string& to_dir) {
  fs::create_directories(to_dir);
  // generation_config.json too: its end-of-sequence ids and sampling defaults belong with
  // the tokenizer (it replaces the one save_causal_lm derives from config.json).
  for (const char* name : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "added_tokens.json", "chat_template.jinja", "chat_template.json", "generation_config.json"}) {
    fs::path src = fs::path(from_dir) / name;
    if (fs::exists(src)) fs::copy_file(src, fs::path(to_dir) / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace fw::model
