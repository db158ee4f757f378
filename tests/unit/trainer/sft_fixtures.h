// Small SFT data and recipes for the trainer tests.
#pragma once

#include <string>

#include "trainer/sft_recipe.h"

namespace fw::testing {

// Writes `n` addition dialogues as SFT JSONL (messages format) and returns the path.
std::string write_addition_sft(const std::string& path, int n, int seed = 0);

// A from-scratch recipe on that data: tiny model, trained tokenizer, deterministic.
trainer::SftRecipe tiny_sft_recipe(const std::string& output_dir, const std::string& data_path);

// All parameters of the model in `dir` flattened into one tensor, in name order.
std::string fresh_dir(const std::string& name);

}  // namespace fw::testing
