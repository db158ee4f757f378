// The random state a run needs for exact resume: torch's CPU generator and every CUDA
// device's generator.
#pragma once

#include <string>

namespace fw::trainer {

void save_rng_state(const std::string& path);
void load_rng_state(const std::string& path);  // fw::Error naming the file if unreadable

}  // namespace fw::trainer
