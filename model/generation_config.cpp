#include "model/generation_config.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"

namespace fw::model {
namespace {

using json = nlohmann::json;

template <class T>
std::optional<T> optional_value(const json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    throw_invalid("has the wrong type (" + std::string(j[key].type_name()) + ")", {.file = source, .key = key});
  }
}

}  // namespace

GenerationConfig GenerationConfig::from_hf_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw_invalid("generation config is not a JSON object", {.file = source});
  GenerationConfig g;
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
    for (const auto& e : j["eos_token_id"]) {
      if (!e.is_number_integer()) throw_invalid("must hold integers", {.file = source, .key = "eos_token_id"});
      g.eos_token_ids.push_back(e.get<int64_t>());
    }
  } else if (auto e = optional_value<int64_t>(j, "eos_token_id", source)) {
    g.eos_token_ids.push_back(*e);
  }
  g.bos_token_id = optional_value<int64_t>(j, "bos_token_id", source);
  g.pad_token_id = optional_value<int64_t>(j, "pad_token_id", source);
  g.do_sample = optional_value<bool>(j, "do_sample", source);
  g.temperature = optional_value<double>(j, "temperature", source);
  g.top_p = optional_value<double>(j, "top_p", source);
  g.top_k = optional_value<int64_t>(j, "top_k", source);
  g.repetition_penalty = optional_value<double>(j, "repetition_penalty", source);
  return g;
}

GenerationConfig::Sampling GenerationConfig::sampling_defaults() const {
  Sampling s;
  s.repetition_penalty = repetition_penalty.value_or(1.0);
  if (!do_sample.value_or(false)) return s;
  s.temperature = temperature.value_or(1.0);
  s.top_p = top_p.value_or(1.0);
  s.top_k = top_k.value_or(50);
  return s;
}

GenerationConfig GenerationConfig::load(const std::string& model_dir) {
  if (model_dir.empty()) return {};
  const std::string path = (std::filesystem::path(model_dir) / "generation_config.json").string();
  if (!std::filesystem::is_regular_file(path)) return {};
  return from_hf_json(read_json_file(path), path);
}

std::vector<int64_t> stop_token_ids(const GenerationConfig& generation, const LlamaConfig& config,
                                    int64_t tokenizer_eos) {
  std::vector<int64_t> ids;
  auto add = [&ids](int64_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (int64_t id : generation.eos_token_ids) add(id);
  for (int64_t id : config.eos_token_ids) add(id);
  add(tokenizer_eos);
  return ids;
}

std::vector<int64_t> stop_token_ids(const std::string& model_dir, const LlamaConfig& config, int64_t tokenizer_eos) {
  return stop_token_ids(GenerationConfig::load(model_dir), config, tokenizer_eos);
}

}  // namespace fw::model
