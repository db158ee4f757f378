// The flywheel's training stages: a trainer recipe file + overrides, with the fields the
// flywheel owns set on top (output_dir, seed, deterministic, model.path, data.train, and
// data.eval / eval.prompts: the stage's held-out part of its slice, or nothing), prepared first so the
// resolved recipe can be hashed into the stage's inputs, then run.
#pragma once

#include <string>
#include <vector>

#include "flywheel/flywheel_recipe.h"
#include "trainer/dpo.h"
#include "trainer/ppo.h"
#include "trainer/rm.h"
#include "trainer/sft.h"

namespace fw::flywheel {

struct StageCommon {
  std::string output_dir;
  std::string model_path;  // "" = from scratch (SFT-I0 only)
  std::vector<std::string> train_files;
  int64_t seed = 0;
  bool deterministic = false;
  std::vector<std::string> eval_files;  // DPO / RM: held-out pairs; PPO: held-out prompts (with references)
};

template <class Recipe>
struct Prepared {
  Recipe recipe;
  std::string yaml;  // the resolved recipe, as the trainer writes it into its folder
};

// `what` names the flywheel key in errors ("sft", "target.sft0", ...).
Prepared<trainer::SftRecipe> prepare_sft(const TrainerStageSection& s, const std::string& what, const StageCommon& c);
Prepared<trainer::DpoRecipe> prepare_dpo(const TrainerStageSection& s, const StageCommon& c);
Prepared<trainer::RmRecipe> prepare_rm(const TrainerStageSection& s, const StageCommon& c);
// reward_model: the RM folder PPO optimises against (also the value model's start).
Prepared<trainer::PpoRecipe> prepare_ppo(const TrainerStageSection& s, const StageCommon& c, const std::string& reward_model);

}  // namespace fw::flywheel
