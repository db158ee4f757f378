#include "trainer/setup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <atomic>
#include <csignal>
#include <cstdlib>

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace fw::trainer {
namespace {
std::atomic<int> g_signals{0};

void on_signal(int sig) {
  if (g_signals.fetch_add(1) > 0) std::_Exit(128 + sig);
}
}  // namespace

at::Device setup_runtime(const RuntimeOptions& o) {
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  at::Device device = at::kCPU;
  try {
    device = at::Device(o.device);
  } catch (const std::exception&) {
    throw_invalid("unknown device '" + o.device + "'", {.key = "device", .hint = "cpu, cuda or cuda:N"});
  }
  if (device.is_cuda() && !at::globalContext().hasCUDA())
    throw_invalid("CUDA was requested but no GPU or CUDA runtime is available", {.key = "device", .hint = cuda_runtime_note()});
  if (device.is_cuda() && o.distributed) {
    if (device.has_index())
      throw_invalid("device '" + o.device + "' would put every rank on one GPU", {.key = "device",
                    .hint = "use device: cuda (each rank takes the GPU of its LOCAL_RANK)"});
    const int gpus = static_cast<int>(at::getNumGPUs());
    if (o.local_rank >= gpus)
      throw_invalid("LOCAL_RANK " + std::to_string(o.local_rank) + " has no GPU: this node has " +
                        std::to_string(gpus), {.key = "LOCAL_RANK", .hint = "start at most one rank per GPU"});
    device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(o.local_rank));
  }
  if (o.deterministic) {
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
    // cuBLAS needs this for deterministic results (read when the handle is created).
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
  }
  at::manual_seed(static_cast<uint64_t>(o.seed));
  return device;
}

AutocastGuard::AutocastGuard(at::Device device, ComputeDtype dtype) : type_(device.type()) {
  if (dtype != ComputeDtype::BFloat16) return;
  enabled_ = true;
  previous_ = at::autocast::is_autocast_enabled(type_);
  at::autocast::set_autocast_dtype(type_, at::kBFloat16);
  at::autocast::set_autocast_enabled(type_, true);
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  at::autocast::set_autocast_enabled(type_, previous_);
  at::autocast::clear_cache();
}

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() { return g_signals.load() > 0; }

}  // namespace fw::trainer
