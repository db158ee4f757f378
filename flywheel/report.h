// The flywheel's report, rebuilt from the manifest after every evaluation and at the end:
//   report.html   self-contained: the Elo of each target snapshot with its 95 % CI across
//                 the iterations next to the competitors (inline SVG; the pinned model
//                 named), the snapshot chosen after each iteration with its validation
//                 and test Elo, win rates of each
//                 snapshot against each competitor, data counts per stage and per battle
//                 model (the paper's Table 7), each stage's held-out figures over its
//                 steps and its gate attempts, the SFT data selection (judge or an
//                 ablation arm, arena/sft_selection.h), the judge's position inconsistency, links
//                 to every artefact
//   report.md     the same tables
//   summary.json  the same figures, for scripts
// Returns the path of report.html.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "flywheel/flywheel_recipe.h"

namespace fw::flywheel {

std::string write_report(const std::string& out_dir, const nlohmann::json& manifest, const FlywheelRecipe& recipe);

}  // namespace fw::flywheel
