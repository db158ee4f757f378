#include "model/llama_config.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"

namespace fw::model {
namespace {

using json = nlohmann::json;

template <class T>
T get_or(const json& j, const char* key, T fallback, const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    throw_invalid("has the wrong type (" + std::string(j[key].type_name()) + ")",
                  {.file = source, .key = key});
  }
}

std::optional<int64_t> optional_int(const json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (j[key].is_array()) {  // some configs list several ids; the first is the primary one
    if (j[key].empty()) return std::nullopt;
    return j[key][0].get<int64_t>();
  }
  if (!j[key].is_number_integer()) throw_invalid("must be an integer", {.file = source, .key = key});
  return j[key].get<int64_t>();
}

RopeConfig parse_rope(const json& j, const std::string& source) {
  RopeConfig r;
  // 5.x: rope_parameters holds theta and the scaling; 4.x: rope_theta + rope_scaling.
  const json* params = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) params = &j["rope_scaling"];
  r.theta = get_or<double>(j, "rope_theta", r.theta, source);
  if (params) {
    const json& p = *params;
    r.theta = get_or<double>(p, "rope_theta", r.theta, source);
    r.type = get_or<std::string>(p, "rope_type", get_or<std::string>(p, "type", "default", source), source);
    r.factor = get_or<double>(p, "factor", 1.0, source);
    r.low_freq_factor = get_or<double>(p, "low_freq_factor", r.low_freq_factor, source);
    r.high_freq_factor = get_or<double>(p, "high_freq_factor", r.high_freq_factor, source);
    r.original_max_position_embeddings =
        get_or<int64_t>(p, "original_max_position_embeddings", r.original_max_position_embeddings, source);
  }
  if (r.type != "default" && r.type != "linear" && r.type != "llama3")
    throw_invalid("rope type '" + r.type + "' is not supported",
                  {.file = source, .key = "rope_parameters.rope_type", .hint = "supported: default, linear, llama3"});
  return r;
}

std::string dtype_name(const json& j, const std::string& source) {
  std::string d = get_or<std::string>(j, "dtype", get_or<std::string>(j, "torch_dtype", "float32", source), source);
  if (d == "float" || d == "fp32") d = "float32";
  if (d == "bf16") d = "bfloat16";
  if (d == "half" || d == "fp16") d = "float16";
  return d;
}

}  // namespace

bool LlamaConfig::is_sequence_classifier() const {
  return architecture.find("ForSequenceClassification") != std::string::npos;
}

bool LlamaConfig::uses_sliding_window(int64_t layer) const {
  for (int64_t l : sliding_window_layers)
    if (l == layer) return true;
  return false;
}

LlamaConfig LlamaConfig::from_hf_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw_invalid("config is not a JSON object", {.file = source});
  LlamaConfig c;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty())
    c.architecture = j["architectures"][0].get<std::string>();
  c.model_type = get_or<std::string>(j, "model_type", "llama", source);
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2" && c.model_type != "qwen3")
    throw_invalid("model_type '" + c.model_type + "' is not a supported Llama-family architecture",
                  {.file = source, .key = "model_type", .hint = "supported: llama, mistral, qwen2, qwen3"});
  const std::string act = get_or<std::string>(j, "hidden_act", "silu", source);
  if (act != "silu") throw_invalid("only the silu activation (SwiGLU) is supported", {.file = source, .key = "hidden_act"});

  c.vocab_size = get_or<int64_t>(j, "vocab_size", c.vocab_size, source);
  c.hidden_size = get_or<int64_t>(j, "hidden_size", c.hidden_size, source);
  c.intermediate_size = get_or<int64_t>(j, "intermediate_size", c.intermediate_size, source);
  c.num_hidden_layers = get_or<int64_t>(j, "num_hidden_layers", c.num_hidden_layers, source);
  c.num_attention_heads = get_or<int64_t>(j, "num_attention_heads", c.num_attention_heads, source);
  c.num_key_value_heads = get_or<int64_t>(j, "num_key_value_heads", c.num_attention_heads, source);
  c.head_dim = get_or<int64_t>(j, "head_dim", c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0, source);
  c.max_position_embeddings = get_or<int64_t>(j, "max_position_embeddings", c.max_position_embeddings, source);
  c.rms_norm_eps = get_or<double>(j, "rms_norm_eps", c.rms_norm_eps, source);
  c.rope = parse_rope(j, source);
  c.attention_bias = get_or<bool>(j, "attention_bias", false, source);
  c.qkv_bias = c.model_type == "qwen2";
  c.qk_norm = c.model_type == "qwen3";
  c.mlp_bias = get_or<bool>(j, "mlp_bias", false, source);
  c.tie_word_embeddings = get_or<bool>(j, "tie_word_embeddings", false, source);
  c.bos_token_id = optional_int(j, "bos_token_id", source);
  c.pad_token_id = optional_int(j, "pad_token_id", source);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
    for (const auto& e : j["eos_token_id"]) c.eos_token_ids.push_back(e.get<int64_t>());
  } else if (auto e = optional_int(j, "eos_token_id", source)) {
    c.eos_token_ids.push_back(*e);
  }
  c.dtype = dtype_name(j, source);
  c.num_labels = j.contains("id2label") && j["id2label"].is_object() ? static_cast<int64_t>(j["id2label"].size())
                                                                     : get_or<int64_t>(j, "num_labels", 1, source);

  // Windowed attention: Mistral on every layer when sliding_window is set; Qwen2 and Qwen3
  // only with use_sliding_window, on the layers that layer_types (5.x) or
  // max_window_layers (4.x) mark.
  const bool qwen = c.model_type == "qwen2" || c.model_type == "qwen3";
  const int64_t window = get_or<int64_t>(j, "sliding_window", 0, source);
  bool windowed = c.model_type == "mistral" ? window > 0 : qwen && get_or<bool>(j, "use_sliding_window", false, source);
  if (windowed && window > 0) {
    c.sliding_window = window;
    if (j.contains("layer_types") && j["layer_types"].is_array()) {
      for (size_t l = 0; l < j["layer_types"].size(); ++l)
        if (j["layer_types"][l] == "sliding_attention") c.sliding_window_layers.push_back(static_cast<int64_t>(l));
    } else {
      const int64_t first = qwen ? get_or<int64_t>(j, "max_window_layers", 0, source) : 0;
      for (int64_t l = first; l < c.num_hidden_layers; ++l) c.sliding_window_layers.push_back(l);
    }
  }
  c.validate(source);
  return c;
}

void LlamaConfig::validate(const std::string& source) const {
  auto positive = [&](int64_t v, const char* key) {
    if (v <= 0) throw_invalid("must be positive, got " + std::to_string(v), {.file = source, .key = key});
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  if (num_attention_heads % num_key_value_heads != 0)
    throw_invalid("num_attention_heads (" + std::to_string(num_attention_heads) +
                      ") must be a multiple of num_key_value_heads (" + std::to_string(num_key_value_heads) + ")",
                  {.file = source, .key = "num_key_value_heads"});
  if (head_dim % 2 != 0) throw_invalid("head_dim must be even for rotary embeddings", {.file = source, .key = "head_dim"});
  if (rms_norm_eps <= 0) throw_invalid("must be positive", {.file = source, .key = "rms_norm_eps"});
  if (rope.theta <= 0) throw_invalid("must be positive", {.file = source, .key = "rope_theta"});
  if (dtype != "float32" && dtype != "bfloat16" && dtype != "float16")
    throw_invalid("unsupported dtype '" + dtype + "'", {.file = source, .key = "dtype", .hint = "float32, bfloat16 or float16"});
}

LlamaConfig LlamaConfig::load(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  if (!std::filesystem::exists(path))
    throw_invalid("no config.json in the model folder", {.file = model_dir});
  return from_hf_json(read_json_file(path), path);
}

nlohmann::ordered_json LlamaConfig::to_hf_json() const {
  nlohmann::ordered_json j;
  j["architectures"] = {architecture};
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  nlohmann::ordered_json rope_params = {{"rope_type", rope.type}, {"rope_theta", rope.theta}};
  if (rope.type != "default") rope_params["factor"] = rope.factor;
  if (rope.type == "llama3") {
    rope_params["low_freq_factor"] = rope.low_freq_factor;
    rope_params["high_freq_factor"] = rope.high_freq_factor;
    rope_params["original_max_position_embeddings"] = rope.original_max_position_embeddings;
  }
  j["rope_theta"] = rope.theta;
  j["rope_parameters"] = rope_params;
  if (rope.type == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    nlohmann::ordered_json scaling = rope_params;
    scaling.erase("rope_theta");
    j["rope_scaling"] = scaling;
  }
  if (model_type == "llama") {
    j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
  }
  if (model_type == "qwen3") j["attention_bias"] = attention_bias;
  if (model_type == "qwen2" || model_type == "qwen3") {
    j["use_sliding_window"] = sliding_window > 0;
    j["sliding_window"] = sliding_window > 0 ? nlohmann::ordered_json(sliding_window) : nlohmann::ordered_json(nullptr);
    nlohmann::ordered_json types = nlohmann::ordered_json::array();
    for (int64_t l = 0; l < num_hidden_layers; ++l)
      types.push_back(uses_sliding_window(l) ? "sliding_attention" : "full_attention");
    j["layer_types"] = types;
    int64_t first = num_hidden_layers;
    for (int64_t l : sliding_window_layers) first = std::min(first, l);
    j["max_window_layers"] = first;
  }
  if (model_type == "mistral")
    j["sliding_window"] = sliding_window > 0 ? nlohmann::ordered_json(sliding_window) : nlohmann::ordered_json(nullptr);
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["bos_token_id"] = bos_token_id ? nlohmann::ordered_json(*bos_token_id) : nlohmann::ordered_json(nullptr);
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else if (eos_token_ids.empty()) j["eos_token_id"] = nullptr;
  else j["eos_token_id"] = eos_token_ids;
  j["pad_token_id"] = pad_token_id ? nlohmann::ordered_json(*pad_token_id) : nlohmann::ordered_json(nullptr);
  j["dtype"] = dtype;
  j["torch_dtype"] = dtype;
  if (is_sequence_classifier()) {
    nlohmann::ordered_json id2label, label2id;
    for (int64_t i = 0; i < num_labels; ++i) {
      id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
      label2id["LABEL_" + std::to_string(i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  j["use_cache"] = true;
  return j;
}

void LlamaConfig::save(const std::string& model_dir) const {
  std::filesystem::create_directories(model_dir);
  write_file_atomic((std::filesystem::path(model_dir) / "config.json").string(), to_hf_json().dump(2) + "\n");
}

int64_t LlamaConfig::num_parameters() const {
  const int64_t C = hidden_size, D = head_dim, H = num_attention_heads, Hkv = num_key_value_heads;
  int64_t attn = C * H * D + 2 * C * Hkv * D + H * D * C;
  if (attention_bias) attn += H * D + 2 * Hkv * D + C;
  else if (qkv_bias) attn += H * D + 2 * Hkv * D;
  int64_t mlp = 3 * C * intermediate_size + (mlp_bias ? 2 * intermediate_size + C : 0);
  int64_t layer = attn + mlp + 2 * C + (qk_norm ? 2 * D : 0);
  int64_t head = is_sequence_classifier() ? num_labels * C : (tie_word_embeddings ? 0 : vocab_size * C);
  return vocab_size * C + num_hidden_layers * layer + C + head;
}

}  // namespace fw::model
