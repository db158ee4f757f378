// The steps of `flywheel run` (flywheel/run.cpp strings them together), each a free
// function over the run's shared state. Each step runs in full on rank 0, which records
// it in the manifest; the other ranks wait for that record, and join the trainers.
#pragma once

#include <cstdint>
#include <optional>

#include "flywheel/run_context.h"
#include "flywheel/snapshot.h"
#include "flywheel/stage_registry.h"

namespace fw::flywheel {

// split: the test set, the decontaminated pool, the validation split, D0 and the slices
// (flywheel/pool_split.cpp).
void split_pool(RunContext& run);

// i0: the starting target, target.start or SFT-I0 trained on D0 (flywheel/start_target.cpp).
Snapshot start_target(RunContext& run);

// i<i>.<kind>: one stage of iteration i at position k of `stages`, on its slice; the
// snapshot that goes on (the target itself when the stage is skipped or dropped)
// (flywheel/stage_runner.cpp).
Snapshot run_stage(RunContext& run, const StageKind& kind, int64_t iteration, size_t position, const Snapshot& target);

// i<i>.eval: every model on the offline test set (and the validation split); from
// iteration 1 on, the snapshot of the iteration (its start included) that goes on
// (flywheel/iteration_eval.cpp).
Snapshot evaluate_iteration(RunContext& run, int64_t iteration, std::optional<Snapshot> iteration_start = std::nullopt);

}  // namespace fw::flywheel
