#include "tiny_models.h"

#include <ATen/ATen.h>

namespace fw::testing {

model::LlamaConfig tiny_config() {
  model::LlamaConfig c;
  c.vocab_size = 61;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  return c;
}

model::LlamaForCausalLM tiny_lm(const model::LlamaConfig& c, uint64_t seed) {
  at::manual_seed(seed);
  model::LlamaForCausalLM lm(c);
  model::init_weights(*lm, 0.2);
  lm->eval();
  return lm;
}

model::LlamaForScore tiny_score_model(uint64_t seed) {
  at::manual_seed(seed);
  model::LlamaConfig c = tiny_config();
  c.architecture = "LlamaForSequenceClassification";
  model::LlamaForScore m(c);
  model::init_weights(*m, 0.2);
  m->eval();
  return m;
}

}  // namespace fw::testing
