// The flywheel's training stages: a trainer recipe file + overrides, with the fields the
// flywheel owns set on top (output_dir, seed, deterministic, model.path, data.train, and
// data.eval / eval.prompts: the stage's held-out part of its slice, or nothing), prepared
// once by the stage's plan (flywheel/stage.h): the resolved recipe is hashed into the
// stage's inputs, and the same recipe runs.
#pragma once

#include <cstddef>
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
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();  // target.chat_template_kwargs
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

// The section with its `attempt`-th retry setting (1-based; the stage gate's) appended to
// its overrides; attempt 0: the section as it is.
TrainerStageSection with_retry(TrainerStageSection s, size_t attempt);

// The recipe of every attempt of a stage's trainer: attempt 0 as the section says, attempt
// j > 0 with its j-th retry setting, into <output_dir>.retry<j>. `prepare(section, common)`
// is one of the prepare_* above.
template <class Prepare>
auto prepare_attempts(const TrainerStageSection& s, const StageCommon& c, Prepare prepare) {
  std::vector<decltype(prepare(s, c))> attempts;
  for (size_t a = 0; a <= s.retries.size(); ++a) {
    StageCommon ca = c;
    if (a > 0) ca.output_dir += ".retry" + std::to_string(a);
    attempts.push_back(prepare(with_retry(s, a), ca));
  }
  return attempts;
}

// The held-out files (data.eval; PPO: eval.prompts) that came out empty (a slice with no
// pair on its held-out prompts) left out, once the stage's data is written: the recipe
// the trainer then runs.
Prepared<trainer::DpoRecipe> without_empty_heldout(Prepared<trainer::DpoRecipe> p);
Prepared<trainer::RmRecipe> without_empty_heldout(Prepared<trainer::RmRecipe> p);
Prepared<trainer::PpoRecipe> without_empty_heldout(Prepared<trainer::PpoRecipe> p);

// The recipes' text as a stage's inputs hash reads it: a key added after a run folder
// could have been made is left out while it holds its default, so that folder's finished
// stages keep their hashes (the trainers' fingerprints treat added fields the same way).
std::string hashed_recipes(std::string yaml);

}  // namespace fw::flywheel
