// A tiny but complete model folder (config.json, model.safetensors, tokenizer.model,
// generation_config.json) made from scratch for the integration tests.
#pragma once

#include <string>

namespace fw::testing {

// Trains a 300-piece tokenizer and writes a random 2-layer model using it into `dir`
// (idempotent: reuses the folder if it is already complete).
void make_tiny_checkpoint(const std::string& dir, unsigned seed = 0);

}  // namespace fw::testing
