// flywheel sft / dpo / rm / ppo RECIPE.yaml [key=value ...]
#include <cstdlib>

#include "apps/recipe_command.h"
#include "flywheel/answer_verifiers.h"
#include "trainer/dpo.h"
#include "trainer/ppo.h"
#include "trainer/rm.h"
#include "trainer/sft.h"

namespace fw::apps {
namespace {

// The trainers' test seam (trainer/trainer_hooks.h), reachable from the integration tests
// that drive this binary: FLYWHEEL_TEST_NAN_AT_STEP=N makes step N's loss (PPO: its reward
// scores) NaN. Read here, in the program, never in the libraries.
trainer::FaultInjection test_faults() {
  const char* at = std::getenv("FLYWHEEL_TEST_NAN_AT_STEP");
  return {.nan_at_step = at ? std::atoll(at) : 0};
}

template <class Recipe>
trainer::TrainerHooks hooks_for(const Recipe& r) {
  trainer::TrainerHooks hooks{.faults = test_faults()};
  if constexpr (requires { r.eval.verifier; }) hooks.verifier = flywheel::answer_verifier(r.eval.verifier);
  return hooks;
}

}  // namespace

Run add_sft_command(CLI::App& app) {
  return add_recipe_command<trainer::SftRecipe>(app, [](const trainer::SftRecipe& r, const std::string& yaml) {
    return trainer::run_sft(r, yaml, hooks_for(r)).interrupted;
  });
}

Run add_dpo_command(CLI::App& app) {
  return add_recipe_command<trainer::DpoRecipe>(app, [](const trainer::DpoRecipe& r, const std::string& yaml) {
    return trainer::run_dpo(r, yaml, hooks_for(r)).interrupted;
  });
}

Run add_rm_command(CLI::App& app) {
  return add_recipe_command<trainer::RmRecipe>(app, [](const trainer::RmRecipe& r, const std::string& yaml) {
    return trainer::run_rm(r, yaml, hooks_for(r)).interrupted;
  });
}

Run add_ppo_command(CLI::App& app) {
  return add_recipe_command<trainer::PpoRecipe>(app, [](const trainer::PpoRecipe& r, const std::string& yaml) {
    return trainer::run_ppo(r, yaml, hooks_for(r)).interrupted;
  });
}

}  // namespace fw::apps
