// Tiny random Llama-family configs for the model tests.
#pragma once

#include "model/llama.h"

namespace fw::testing {

// GQA (4 query heads over 2 KV heads), 2 layers, small vocabulary.
model::LlamaConfig tiny_config();

// A seeded random model with weights large enough to give peaked distributions.
model::LlamaForCausalLM tiny_lm(const model::LlamaConfig& c, uint64_t seed = 0);

// A seeded random one-label score model (reward / value) of tiny_config()'s shape.
model::LlamaForScore tiny_score_model(uint64_t seed = 0);

}  // namespace fw::testing
