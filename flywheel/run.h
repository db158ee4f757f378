// `flywheel run RECIPE.yaml`: the Arena Learning loop (DESIGN.md §1), end to end.
//
//   split    pool -> (decontaminated against the test set) -> the validation split,
//            then (decontaminated against it) D0, D1..Dn   (seeded)
//   i0.sft   SFT-I0 on D0 (the pool's reference answers), unless target.start is given
//   i0.eval  every model (competitors + snapshots) battles on the offline test set -> Elo
//            (eval.anchor pinned, so every evaluation has the same scale)
//   for each iteration i, for each stage k of `stages`, on a fresh slice:
//     i<i>.<k>   battle the current target against each competitor on the slice ->
//                the stage kind (flywheel/stage.h: sft | dpo | rm_ppo, or a registered
//                one) plans, builds its data and trains -> the stage gate -> the new
//                snapshot <target>-I<i>-<k> becomes the current target
//     i<i>.eval  the offline evaluation again, which only reports; the iteration's best
//                snapshot by Elo on the validation split (its starting model included)
//                starts the next iteration
//   report   report.html / report.md / summary.json
//
// The steps are in flywheel/run_steps.h. Every stage is recorded in manifest.json
// (flywheel/manifest.h). A crash or Ctrl-C loses nothing finished: the rerun skips done stages and resumes the running one, whose
// parts resume themselves (battle caches, trainer checkpoints with resume: auto, data
// rebuilt deterministically).
#pragma once

#include <string>

#include "flywheel/flywheel_recipe.h"
#include "flywheel/run_context.h"

namespace fw::flywheel {

struct FlywheelResult {
  std::string report_html;
  bool interrupted = false;  // a trainer stopped on SIGINT/SIGTERM (after checkpointing)
};

// `hooks`: the tests' seams (flywheel/run_context.h); none in normal runs.
FlywheelResult run_flywheel(const FlywheelRecipe& recipe, const std::string& resolved_yaml, const RunHooks& hooks = {});

}  // namespace fw::flywheel
