#include "flywheel/stage_registry.h"

#include <deque>

#include "core/error.h"
#include "flywheel/stage.h"

namespace fw::flywheel {

// The built-in kinds, each in its own file (flywheel/stage_<kind>.cpp).
std::unique_ptr<Stage> make_sft_stage(const StageContext& context);
std::unique_ptr<Stage> make_dpo_stage(const StageContext& context);
std::unique_ptr<Stage> make_rm_ppo_stage(const StageContext& context);

namespace {

// A deque: handles and the names' views stay valid as kinds are added.
std::deque<StageKind>& registry() {
  static std::deque<StageKind> kinds = {
      {"sft", "sft", make_sft_stage},
      {"dpo", "dpo", make_dpo_stage},
      {"rm_ppo", "ppo", make_rm_ppo_stage},
  };
  return kinds;
}

std::string known_names() {
  std::string list;
  for (const auto n : stage_kind_names()) list += (list.empty() ? "" : ", ") + std::string(n);
  return list;
}

}  // namespace

void register_stage_kind(StageKind kind) {
  if (find_stage_kind(kind.name))
    throw_runtime("stage kind '" + kind.name + "' is registered already (known: " + known_names() + ")");
  registry().push_back(std::move(kind));
}

const StageKind* find_stage_kind(std::string_view name) {
  for (const auto& k : registry())
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string_view> stage_kind_names() {
  std::vector<std::string_view> names;
  for (const auto& k : registry()) names.push_back(k.name);
  return names;
}

std::vector<const StageKind*> resolve_stage_kinds(const std::vector<std::string>& names) {
  std::vector<const StageKind*> kinds;
  for (size_t k = 0; k < names.size(); ++k) {
    const StageKind* kind = find_stage_kind(names[k]);
    if (!kind)
      throw_invalid("unknown stage kind '" + names[k] + "' (known: " + known_names() + ")",
                    {.key = "stages[" + std::to_string(k) + "]"});
    kinds.push_back(kind);
  }
  return kinds;
}

}  // namespace fw::flywheel
