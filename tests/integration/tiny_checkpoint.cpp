#include "tiny_checkpoint.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "data/tokenizer.h"
#include "model/checkpoint.h"

namespace fw::testing {

void make_tiny_checkpoint(const std::string& dir, unsigned seed) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(dir) / "generation_config.json")) return;
  fs::create_directories(dir);
  data::TrainOptions t;
  for (int i = 0; i < 400; ++i)
    t.sentences.push_back("User: what is " + std::to_string(i) + " plus " + std::to_string(i * 7 % 13) +
                          "? Assistant: the answer is " + std::to_string(i + i * 7 % 13) + ".");
  t.vocab_size = 300;
  t.model_path = (fs::path(dir) / "tokenizer.model").string();
  data::Tokenizer::train(t);
  data::Tokenizer tok = data::Tokenizer::load(dir);

  model::LlamaConfig c;
  c.vocab_size = tok.vocab_size();
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 256;
  c.bos_token_id = tok.bos_id();
  c.eos_token_ids = {tok.eos_id()};
  c.pad_token_id = tok.pad_id();
  at::manual_seed(seed);
  model::LlamaForCausalLM lm(c);
  model::init_weights(*lm, 0.3);
  model::save_causal_lm(lm, dir);
}

}  // namespace fw::testing
