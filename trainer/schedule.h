// Learning-rate schedules as pure functions of the step: linear warmup from 0 to the peak
// over warmup_steps, then constant, linear decay or cosine decay to min_lr_ratio x peak
// at total_steps (transformers' get_*_schedule_with_warmup, plus a floor).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/enum_names.h"

namespace fw::trainer {

enum class ScheduleKind { Constant, Linear, Cosine };
constexpr std::array<EnumName<ScheduleKind>, 3> enum_names(ScheduleKind) {
  return {{{ScheduleKind::Constant, "constant"}, {ScheduleKind::Linear, "linear"}, {ScheduleKind::Cosine, "cosine"}}};
}

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::Cosine;
  double peak_lr = 1e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.0;  // the decayed floor, as a fraction of peak_lr
};

// LR for the optimizer update number `step` (0-based).
double lr_at(int64_t step, const ScheduleOptions& opts);

}  // namespace fw::trainer
