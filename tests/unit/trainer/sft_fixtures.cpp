#include "tests/support/test_tmp.h"
#include "sft_fixtures.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/rng.h"

namespace fw::testing {

std::string fresh_dir(const std::string& name) {
  const std::string dir = fw::testing::tmp_dir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string write_addition_sft(const std::string& path, int n, int seed) {
  Rng rng(static_cast<uint64_t>(seed));
  std::ofstream out(path);
  for (int i = 0; i < n; ++i) {
    const int a = static_cast<int>(rng.uniform_int(0, 49)), b = static_cast<int>(rng.uniform_int(0, 49));
    nlohmann::json msgs = nlohmann::json::array();
    if (i % 3 == 0) msgs.push_back({{"role", "system"}, {"content", "Answer briefly."}});
    msgs.push_back({{"role", "user"}, {"content", "What is " + std::to_string(a) + " plus " + std::to_string(b) + "?"}});
    msgs.push_back({{"role", "assistant"}, {"content", "The answer is " + std::to_string(a + b) + "."}});
    out << nlohmann::json{{"messages", msgs}}.dump() << "\n";
  }
  return path;
}

trainer::SftRecipe tiny_sft_recipe(const std::string& output_dir, const std::string& data_path) {
  trainer::SftRecipe r;
  r.run.output_dir = output_dir;
  r.run.seed = 7;
  r.run.deterministic = true;
  r.run.threads = 1;
  r.run.log_every_steps = 1;
  r.model.chat_template = "plain";
  r.model.from_scratch = {.hidden_size = 32, .intermediate_size = 64, .num_hidden_layers = 2, .num_attention_heads = 4,
                          .num_key_value_heads = 2, .max_position_embeddings = 128};
  r.tokenizer.train_vocab_size = 300;
  r.data.train = {data_path};
  r.data.max_seq_len = 96;
  r.optim.lr = 3e-3;
  r.optim.weight_decay = 0.01;
  r.schedule.warmup_steps = 2;
  r.train.micro_batch_size = 4;
  r.train.max_steps = 8;
  r.checkpoint.keep_last = 0;
  return r;
}

}  // namespace fw::testing
