// The stage gate (DESIGN.md §8): after a training stage, its output battles its input on
// the stage's held-out prompts with the run's judge, and the stage is kept only when the
// output's win rate (ties count half) beats `min_win_rate`. The check is a pure function
// of the battles; the driver (flywheel/run.cpp) plays them and acts on the verdict as the
// recipe says: keep the stage anyway (reported), retry it with the next setting of its
// `retries` list, or drop it in favour of its input.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "arena/battle_record.h"

namespace fw::flywheel {

enum class GateAction { Keep, Retry, Drop };
constexpr std::array<EnumName<GateAction>, 3> enum_names(GateAction) {
  return {{{GateAction::Keep, "keep"}, {GateAction::Retry, "retry"}, {GateAction::Drop, "drop"}}};
}
GateAction gate_action_from_name(const std::string& name);  // "keep" | "retry" | "drop"
std::string gate_action_name(GateAction action);

struct GateCheck {
  int64_t prompts = 0;              // battles between the two (one per prompt)
  int64_t wins = 0, losses = 0, ties = 0;  // of the output
  double win_rate = 0;              // (wins + ties / 2) / prompts
  double ci_low = 0, ci_high = 0;   // bootstrap 2.5 / 97.5 % quantiles over prompts
  bool passed = false;              // win_rate > min_win_rate
  nlohmann::json to_json() const;
};

// The output's record against the input over the battles between the two (others are
// ignored; a battle played twice counts once per record). With no battle between them the
// check fails (nothing shows the output is better). `rounds` bootstrap resamples of the
// battles, seeded.
GateCheck gate_check(const std::vector<arena::Battle>& battles, const std::string& output, const std::string& input,
                     double min_win_rate, int64_t rounds, uint64_t seed);

}  // namespace fw::flywheel
