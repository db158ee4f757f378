// `flywheel <recipe> RECIPE.yaml [key=value ...] [--print-config]`, the same for every
// trainer: bind the YAML (with overrides) to the recipe struct, then run it.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "config/recipe.h"

namespace fw::apps {

// run(recipe, resolved_yaml) returns true when the run was interrupted (exit 130).
template <class Recipe, class RunFn>
Run add_recipe_command(CLI::App& app, RunFn run) {
  auto recipe_path = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto print_config = std::make_shared<bool>(false);
  app.add_option("recipe", *recipe_path, "YAML recipe (configs/...)")->required()->check(CLI::ExistingFile);
  app.add_option("overrides", *overrides, "key.sub=value overrides, applied after the recipe");
  app.add_flag("--print-config", *print_config, "print the resolved recipe (defaults filled in) and exit");
  return [recipe_path, overrides, print_config, run] {
    auto recipe = config::load_recipe<Recipe>(*recipe_path, *overrides);
    const std::string resolved = config::dump_yaml(recipe);
    if (*print_config) {
      std::fputs(resolved.c_str(), stdout);
      return;
    }
    if (run(recipe, resolved)) std::exit(130);
  };
}

}  // namespace fw::apps
