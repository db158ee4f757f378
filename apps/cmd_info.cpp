// flywheel info MODEL_DIR: what a checkpoint folder holds, without loading the weights.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <map>

#include "apps/commands.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "model/llama_config.h"
#include "model/safetensors_format.h"

namespace fw::apps {
namespace fs = std::filesystem;
namespace {

std::string human(double n) {
  const char* units[] = {"", "K", "M", "B", "T"};
  int u = 0;
  while (n >= 1000 && u < 4) {
    n /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u ? "%.2f%s" : "%.0f%s", n, units[u]);
  return buf;
}

// Parameter count and stored dtypes from the safetensors headers (no data is read).
void describe_weights(const std::string& dir) {
  std::vector<std::string> files;
  if (fs::exists(fs::path(dir) / "model.safetensors")) files.push_back((fs::path(dir) / "model.safetensors").string());
  else
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors" && e.path().filename().string().rfind("model-", 0) == 0)
        files.push_back(e.path().string());
  if (files.empty()) {
    std::printf("weights:        none found (no model.safetensors)\n");
    return;
  }
  uint64_t params = 0, bytes = 0;
  std::map<std::string, uint64_t> by_dtype;
  for (const auto& f : files) {
    model::StHeader h = model::read_header(f);
    for (const auto& t : h.tensors) {
      params += t.numel();
      bytes += t.end - t.begin;
      by_dtype[std::string(model::st_dtype_name(t.dtype))] += t.numel();
    }
  }
  std::string dtypes;
  for (const auto& [d, n] : by_dtype) dtypes += (dtypes.empty() ? "" : ", ") + d;
  std::printf("weights:        %zu file(s), %s parameters stored (%s bytes), dtype %s\n", files.size(),
              human(static_cast<double>(params)).c_str(), human(static_cast<double>(bytes)).c_str(), dtypes.c_str());
}

}  // namespace

Run add_info_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  app.add_option("model_dir", *dir, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  return [dir] {
    model::LlamaConfig c = model::LlamaConfig::load(*dir);
    std::printf("model:          %s\n", dir->c_str());
    std::printf("architecture:   %s (%s)\n", c.architecture.c_str(), c.model_type.c_str());
    std::printf("parameters:     %s (%lld)\n", human(static_cast<double>(c.num_parameters())).c_str(),
                static_cast<long long>(c.num_parameters()));
    std::printf("dtype:          %s\n", c.dtype.c_str());
    std::printf("layers:         %lld, hidden %lld, MLP %lld\n", (long long)c.num_hidden_layers,
                (long long)c.hidden_size, (long long)c.intermediate_size);
    std::printf("attention:      %lld heads, %lld KV heads (%s), head dim %lld%s\n", (long long)c.num_attention_heads,
                (long long)c.num_key_value_heads,
                c.num_key_value_heads == c.num_attention_heads ? "MHA" : c.num_key_value_heads == 1 ? "MQA" : "GQA",
                (long long)c.head_dim, c.attention_bias ? ", qkvo bias" : c.qkv_bias ? ", qkv bias" : "");
    std::printf("rope:           %s, theta %g%s\n", c.rope.type.c_str(), c.rope.theta,
                c.rope.type == "default" ? "" : (", factor " + std::to_string(c.rope.factor)).c_str());
    if (c.sliding_window > 0)
      std::printf("sliding window: %lld tokens on %zu layer(s)\n", (long long)c.sliding_window, c.sliding_window_layers.size());
    std::printf("vocabulary:     %lld%s\n", (long long)c.vocab_size, c.tie_word_embeddings ? " (tied embeddings)" : "");
    std::printf("context:        %lld positions\n", (long long)c.max_position_embeddings);
    describe_weights(*dir);
    if (fs::exists(fs::path(*dir) / "tokenizer.json") || fs::exists(fs::path(*dir) / "tokenizer.model")) {
      data::Tokenizer tok = data::Tokenizer::load(*dir);
      std::printf("tokenizer:      %s, %d tokens, bos %d, eos %d, pad %d\n", tok.file_name(), tok.vocab_size(),
                  tok.bos_id(), tok.eos_id(), tok.pad_id());
      // What the trainers, battles and serving render with (data::load_chat_template "auto").
      std::printf("chat template:  %s\n", data::load_chat_template(*dir, "auto").name().c_str());
    } else {
      std::printf("tokenizer:      none (no tokenizer.json or tokenizer.model)\n");
    }
  };
}

}  // namespace fw::apps
