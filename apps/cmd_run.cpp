// flywheel run RECIPE.yaml [key=value ...]: whole Arena Learning iterations, resumable.
#include <csignal>
#include <cstdlib>

#include "apps/recipe_command.h"
#include "core/log.h"
#include "flywheel/run.h"

namespace fw::apps {
namespace {

// The crash tests' hook: FLYWHEEL_TEST_CRASH_AT=<stage>:<point> (e.g. i1.sft:battles) makes
// the process SIGKILL itself at that point of the run (flywheel::RunHooks::at_point), so
// the tests can crash every stage at moments too short to hit from outside.
flywheel::RunHooks hooks_from_environment() {
  const char* at = std::getenv("FLYWHEEL_TEST_CRASH_AT");
  if (!at) return {};
  return {.at_point = [crash_at = std::string(at)](const std::string& point) {
    if (point != crash_at) return;
    log::warn("flywheel: FLYWHEEL_TEST_CRASH_AT=" + crash_at + ": killing this process (test hook)");
    std::raise(SIGKILL);
  }};
}

}  // namespace

Run add_run_command(CLI::App& app) {
  return add_recipe_command<flywheel::FlywheelRecipe>(app, [](const flywheel::FlywheelRecipe& r, const std::string& yaml) {
    return flywheel::run_flywheel(r, yaml, hooks_from_environment()).interrupted;
  });
}

}  // namespace fw::apps
