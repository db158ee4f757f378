// flywheel battle RECIPE.yaml [key=value ...]: prompts x model pairs -> judged battles.
#include "apps/recipe_command.h"
#include "arena/battle_command.h"

namespace fw::apps {

Run add_battle_command(CLI::App& app) {
  return add_recipe_command<arena::BattleRecipe>(app, [](const arena::BattleRecipe& r, const std::string& yaml) {
    arena::run_battle_recipe(r, yaml);
    return false;
  });
}

}  // namespace fw::apps
