// flywheel sft / dpo / rm / ppo RECIPE.yaml [key=value ...]
#include "apps/recipe_command.h"
#include "trainer/dpo.h"
#include "trainer/ppo.h"
#include "trainer/rm.h"
#include "trainer/sft.h"

namespace fw::apps {

Run add_sft_command(CLI::App& app) {
  return add_recipe_command<trainer::SftRecipe>(
      app, [](const trainer::SftRecipe& r, const std::string& yaml) { return trainer::run_sft(r, yaml).interrupted; });
}

Run add_dpo_command(CLI::App& app) {
  return add_recipe_command<trainer::DpoRecipe>(
      app, [](const trainer::DpoRecipe& r, const std::string& yaml) { return trainer::run_dpo(r, yaml).interrupted; });
}

Run add_rm_command(CLI::App& app) {
  return add_recipe_command<trainer::RmRecipe>(
      app, [](const trainer::RmRecipe& r, const std::string& yaml) { return trainer::run_rm(r, yaml).interrupted; });
}

Run add_ppo_command(CLI::App& app) {
  return add_recipe_command<trainer::PpoRecipe>(
      app, [](const trainer::PpoRecipe& r, const std::string& yaml) { return trainer::run_ppo(r, yaml).interrupted; });
}

}  // namespace fw::apps
