// `flywheel <recipe> RECIPE.yaml [key=value ...] [--print-config] [--restart]`, the same
// for every trainer: bind the YAML (with overrides) to the recipe struct, then run it.
// --restart first moves an existing run folder aside (rank 0 only; the other ranks touch
// the folder only after rank 0 has joined them), so a changed recipe starts afresh.
#pragma once

#include <CLI/CLI.hpp>

#include <concepts>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "config/recipe.h"
#include "core/log.h"
#include "dist/env.h"
#include "trainer/run_fingerprint.h"

namespace fw::apps {

// The trainer recipes (sft, dpo, rm, ppo): their top-level keys are a trainer::RunSection.
template <class Recipe>
concept TrainerRecipe = requires(const Recipe& r) {
  { r.run.output_dir } -> std::convertible_to<std::string>;
};

// run(recipe, resolved_yaml) returns true when the run was interrupted (exit 130).
// Trainer recipes get --restart.
template <class Recipe, class RunFn>
Run add_recipe_command(CLI::App& app, RunFn run) {
  auto recipe_path = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto print_config = std::make_shared<bool>(false);
  auto restart = std::make_shared<bool>(false);
  app.add_option("recipe", *recipe_path, "YAML recipe (configs/...)")->required()->check(CLI::ExistingFile);
  app.add_option("overrides", *overrides, "key.sub=value overrides, applied after the recipe");
  app.add_flag("--print-config", *print_config, "print the resolved recipe (defaults filled in) and exit");
  if constexpr (TrainerRecipe<Recipe>)
    app.add_flag("--restart", *restart,
                 "move an existing output_dir aside (to OUTPUT_DIR.old-<time>) and start afresh, e.g. after changing "
                 "keys that a resumed run may not change");
  return [recipe_path, overrides, print_config, restart, run] {
    auto recipe = config::load_recipe<Recipe>(*recipe_path, *overrides);
    const std::string resolved = config::dump_yaml(recipe);
    if (*print_config) {
      std::fputs(resolved.c_str(), stdout);
      return;
    }
    if constexpr (TrainerRecipe<Recipe>) {
      if (*restart && dist::read_dist_env().rank == 0) {
        const std::string moved = trainer::move_run_aside(recipe.run.output_dir);
        if (moved.empty())
          log::info("--restart: " + recipe.run.output_dir + " does not exist yet; starting afresh");
        else
          log::info("--restart: moved the earlier run " + recipe.run.output_dir + " to " + moved);
      }
    }
    if (run(recipe, resolved)) std::exit(130);
  };
}

}  // namespace fw::apps
