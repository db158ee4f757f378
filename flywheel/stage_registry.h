// The stage kinds a recipe's `stages:` may name: kind name -> factory. The built-in kinds
// (sft, dpo, rm_ppo) are listed in stage_registry.cpp; more can be registered before the
// recipe is parsed (the tests add one). The recipe's names are checked against the
// registry when it is parsed (an unknown one is refused at its key, stages[k]) and
// resolved to StageKind handles once, when the run starts.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fw::flywheel {

class Stage;
struct StageContext;

struct StageKind {
  std::string name;            // in `stages:`, the stage's id (i<i>.<name>) and folder
  std::string snapshot_label;  // its snapshot is <target>-I<i>-<label>
  std::function<std::unique_ptr<Stage>(const StageContext&)> make;
};

// Adds a kind; fw::Error when the name is taken.
void register_stage_kind(StageKind kind);
// nullptr when no kind has that name.
const StageKind* find_stage_kind(std::string_view name);
// The registered names, built-ins first (what `stages:` accepts).
std::vector<std::string_view> stage_kind_names();
// The handles of `names` (recipe.stages, already checked); fw::Error at stages[k] for an unknown one.
std::vector<const StageKind*> resolve_stage_kinds(const std::vector<std::string>& names);

}  // namespace fw::flywheel
