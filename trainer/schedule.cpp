#include "trainer/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fw::trainer {


double lr_at(int64_t step, const ScheduleOptions& o) {
  if (step < o.warmup_steps) return o.peak_lr * static_cast<double>(step) / static_cast<double>(o.warmup_steps);
  if (o.kind == ScheduleKind::Constant) return o.peak_lr;
  const double span = static_cast<double>(std::max<int64_t>(1, o.total_steps - o.warmup_steps));
  const double progress = std::clamp(static_cast<double>(step - o.warmup_steps) / span, 0.0, 1.0);
  const double decay = o.kind == ScheduleKind::Linear ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return o.peak_lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * decay);
}

}  // namespace fw::trainer
