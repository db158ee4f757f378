#include "apps/model_loading.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include "core/cuda_runtime.h"
#include "core/error.h"
#include "model/checkpoint.h"

namespace fw::apps {

void DeviceFlags::add_to(CLI::App& app) {
  app.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--dtype", dtype, "auto (as stored), float32, bfloat16 or float16")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = default)")->check(CLI::NonNegativeNumber);
}

at::Device DeviceFlags::resolve_device() const {
  at::Device d = at::kCPU;
  try {
    d = at::Device(device);
  } catch (const std::exception&) {
    throw_invalid("unknown device '" + device + "'", {.key = "--device", .hint = "cpu, cuda or cuda:N"});
  }
  if (d.is_cuda() && !at::globalContext().hasCUDA())
    throw_invalid("CUDA was requested but no GPU or CUDA runtime is available", {.key = "--device", .hint = cuda_runtime_note()});
  if (!d.is_cpu() && !d.is_cuda()) throw_invalid("only cpu and cuda devices are supported", {.key = "--device"});
  return d;
}

std::optional<at::ScalarType> DeviceFlags::resolve_dtype() const {
  if (dtype == "auto") return std::nullopt;
  try {
    return model::dtype_from_name(dtype);
  } catch (const Error& e) {
    throw_invalid(e.message(), {.key = "--dtype", .hint = "auto, float32, bfloat16 or float16"});
  }
}

void DeviceFlags::apply_threads() const {
  if (threads > 0) at::set_num_threads(threads);
}

}  // namespace fw::apps
