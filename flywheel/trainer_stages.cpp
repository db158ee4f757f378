#include "flywheel/trainer_stages.h"

#include <filesystem>
#include <sstream>

#include "config/recipe.h"
#include "core/error.h"
#include "data/chat/template_kwargs.h"

namespace fw::flywheel {
namespace {

template <class R>
R load(const TrainerStageSection& s, const std::string& what) {
  if (s.recipe.empty())
    throw_invalid(what + ".recipe is not set, and the flywheel needs it", {.key = what + ".recipe",
                  .hint = "name a trainer recipe, e.g. configs/" + what + "/tiny.yaml"});
  return config::load_recipe<R>(s.recipe, s.overrides);
}

template <class R>
void set_common(R& r, const StageCommon& c) {
  r.run.output_dir = c.output_dir;
  r.run.seed = c.seed;
  r.run.deterministic = c.deterministic;
  r.model.path = c.model_path;
  r.data.train = c.train_files;
  if (!c.model_path.empty()) {
    r.tokenizer = {};  // the model folder's own tokenizer
    r.model.chat_template = "auto";
  }
  // The target trains under the keyword arguments it battles under: the flywheel's, which a
  // stage recipe may repeat but not contradict.
  const std::string stage = data::canonical_kwargs(r.model.chat_template_kwargs);
  const std::string target = data::canonical_kwargs(c.chat_template_kwargs);
  if (!stage.empty() && stage != target)
    throw_invalid("a stage's trainer recipe sets model.chat_template_kwargs " + stage + " but the target battles under " +
                      (target.empty() ? "none" : target),
                  {.key = "target.chat_template_kwargs",
                   .hint = "set them once, in target.chat_template_kwargs; trained and battled alike"});
  if (!target.empty()) r.model.chat_template_kwargs = c.chat_template_kwargs;
}

bool empty_file(const std::string& f) {
  return !std::filesystem::exists(f) || std::filesystem::file_size(f) == 0;
}

template <class R>
Prepared<R> done(R r) {
  std::string yaml = config::dump_yaml(r);
  return {std::move(r), std::move(yaml)};
}

}  // namespace

Prepared<trainer::SftRecipe> prepare_sft(const TrainerStageSection& s, const std::string& what, const StageCommon& c) {
  auto r = load<trainer::SftRecipe>(s, what);
  set_common(r, c);
  r.data.eval.clear();
  r.eval.prompts.clear();
  return done(std::move(r));
}

Prepared<trainer::DpoRecipe> prepare_dpo(const TrainerStageSection& s, const StageCommon& c) {
  auto r = load<trainer::DpoRecipe>(s, "dpo");
  set_common(r, c);
  r.data.eval = c.eval_files;
  r.dpo.reference_path.clear();  // the stage's starting policy is its reference
  return done(std::move(r));
}

Prepared<trainer::RmRecipe> prepare_rm(const TrainerStageSection& s, const StageCommon& c) {
  auto r = load<trainer::RmRecipe>(s, "rm");
  set_common(r, c);
  r.data.eval = c.eval_files;
  return done(std::move(r));
}

Prepared<trainer::PpoRecipe> prepare_ppo(const TrainerStageSection& s, const StageCommon& c, const std::string& reward_model) {
  auto r = load<trainer::PpoRecipe>(s, "ppo");
  set_common(r, c);
  r.ppo.reward_model_path = reward_model;
  r.ppo.value_model_path.clear();
  r.ppo.reference_path.clear();
  r.eval.prompts = c.eval_files.empty() ? std::string() : c.eval_files.front();
  return done(std::move(r));
}

TrainerStageSection with_retry(TrainerStageSection s, size_t attempt) {
  if (attempt == 0) return s;
  std::istringstream words(s.retries.at(attempt - 1));
  for (std::string w; words >> w;) s.overrides.push_back(w);
  return s;
}

Prepared<trainer::DpoRecipe> without_empty_heldout(Prepared<trainer::DpoRecipe> p) {
  std::erase_if(p.recipe.data.eval, empty_file);
  return done(std::move(p.recipe));
}

Prepared<trainer::RmRecipe> without_empty_heldout(Prepared<trainer::RmRecipe> p) {
  std::erase_if(p.recipe.data.eval, empty_file);
  return done(std::move(p.recipe));
}

Prepared<trainer::PpoRecipe> without_empty_heldout(Prepared<trainer::PpoRecipe> p) {
  if (!p.recipe.eval.prompts.empty() && empty_file(p.recipe.eval.prompts)) p.recipe.eval.prompts.clear();
  return done(std::move(p.recipe));
}

std::string hashed_recipes(std::string yaml) {
  // Keys added since, at their defaults: eval.verifier (issue 19), model.chat_template_kwargs (issue 20).
  for (const std::string line : {"  verifier: synthetic  # synthetic | exact_match\n",
                                  "  chat_template_kwargs: {}  # template keyword arguments, e.g. {enable_thinking: false}\n"})
    for (size_t at = yaml.find(line); at != std::string::npos; at = yaml.find(line, at)) yaml.erase(at, line.size());
  return yaml;
}

}  // namespace fw::flywheel
