// flywheel run RECIPE.yaml [key=value ...]: whole Arena Learning iterations, resumable.
#include "apps/recipe_command.h"
#include "flywheel/run.h"

namespace fw::apps {

Run add_run_command(CLI::App& app) {
  return add_recipe_command<flywheel::FlywheelRecipe>(app, [](const flywheel::FlywheelRecipe& r, const std::string& yaml) {
    return flywheel::run_flywheel(r, yaml).interrupted;
  });
}

}  // namespace fw::apps
