#include "apps/version.h"

#include <torch/version.h>

namespace fw::apps {
const char* version_string() { return FLYWHEEL_VERSION " (LibTorch " TORCH_VERSION ")"; }
}  // namespace fw::apps
