// `flywheel battle RECIPE.yaml`: the recipe's prompts x pairs, through run_battles, into
// its output_dir (with the resolved recipe as config.yaml). Resumable: rerun the same
// command after a crash or Ctrl-C.
#pragma once

#include <string>

#include "arena/battle_recipe.h"
#include "arena/battle_runner.h"

namespace fw::arena {

BattleRunSummary run_battle_recipe(const BattleRecipe& recipe, const std::string& resolved_yaml);

}  // namespace fw::arena
