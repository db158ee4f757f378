// The four models of a PPO run and the options of its rollouts, from the recipe.
#pragma once

#include <optional>

#include "data/tokenizer.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/ppo_experience.h"
#include "trainer/ppo_recipe.h"

namespace fw::trainer {

constexpr const char* kValueModelDir = "value_model";  // in a checkpoint folder

// The policy (the checkpoint being resumed, else model.path), the frozen reference
// (ppo.reference_path, else model.path) and reward model, and the value model (resumed,
// ppo.value_model_path, else the reward model). The frozen models need no fp32 master
// weights: under bf16 on CUDA they are held in bf16. All must share the policy's
// vocabulary; a reward_model_path that is no reward model is an fw::Error naming the key.
PpoModels load_ppo_models(const PpoRecipe& r, const std::optional<CheckpointInfo>& resume, const data::Tokenizer& tok,
                          at::Device device);

// Sampling, stop strings, scoring and advantage settings of the rollouts.
ExperienceOptions experience_options(const PpoRecipe& r, const data::Tokenizer& tok,
                                     const model::LlamaConfig& policy);

}  // namespace fw::trainer
