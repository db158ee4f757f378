// flywheel sft RECIPE.yaml [key=value ...]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "apps/commands.h"
#include "config/recipe.h"
#include "trainer/sft.h"

namespace fw::apps {

Run add_sft_command(CLI::App& app) {
  auto recipe_path = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto print_config = std::make_shared<bool>(false);
  app.add_flag("--print-config", *print_config, "print the resolved recipe (defaults filled in) and exit");
  app.add_option("recipe", *recipe_path, "YAML recipe (configs/sft/*.yaml)")->required()->check(CLI::ExistingFile);
  app.add_option("overrides", *overrides, "key.sub=value overrides, applied after the recipe");
  return [recipe_path, overrides, print_config] {
    auto recipe = config::load_recipe<trainer::SftRecipe>(*recipe_path, *overrides);
    if (*print_config) {
      std::fputs(config::dump_yaml(recipe).c_str(), stdout);
      return;
    }
    trainer::SftResult r = trainer::run_sft(recipe, config::dump_yaml(recipe));
    if (r.interrupted) std::exit(130);
  };
}

}  // namespace fw::apps
