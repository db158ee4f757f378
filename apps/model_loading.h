// Shared by the commands that load a model: device and dtype flags.
#pragma once

#include <string>

#include <ATen/core/TensorBody.h>

namespace CLI {
class App;
}

namespace fw::apps {

struct DeviceFlags {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string dtype = "auto";  // auto (the checkpoint's) | float32 | bfloat16 | float16
  int threads = 0;             // CPU threads for intra-op parallelism; 0 = torch's default

  void add_to(CLI::App& app);
  at::Device resolve_device() const;  // fw::Error if CUDA is asked for but absent
  std::optional<at::ScalarType> resolve_dtype() const;
  void apply_threads() const;
};

}  // namespace fw::apps
