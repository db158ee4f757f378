// Start-of-run helpers every recipe shares: device and threads, determinism, seeding,
// the compute-dtype autocast guard, and interrupt handling.
#pragma once

#include <ATen/core/TensorBody.h>

#include <string>

#include "trainer/recipe_sections.h"

namespace fw::trainer {

struct RuntimeOptions {
  std::string device = "cpu";
  ComputeDtype dtype = ComputeDtype::Float32;  // bf16: autocast over fp32 master weights
  int64_t threads = 0;
  bool deterministic = false;
  int64_t seed = 0;
  int local_rank = 0;             // data parallel: "cuda" means cuda:<local_rank>
  bool distributed = false;
};

// Applies threads, determinism and the seed; returns the device (fw::Error if CUDA is
// asked for and absent). In a data-parallel run "cuda" is the local rank's GPU, and a
// fixed "cuda:N" is refused (it would put every rank on one GPU).
at::Device setup_runtime(const RuntimeOptions& opts);

// Enables bf16 autocast on `device` for its lifetime when dtype is bfloat16.
class AutocastGuard {
 public:
  AutocastGuard(at::Device device, ComputeDtype dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  at::DeviceType type_;
  bool enabled_ = false;
  bool previous_ = false;
};

// SIGINT/SIGTERM set a flag the training loops poll after each step (they checkpoint and
// stop); a second signal exits at once.
void install_interrupt_handler();
bool interrupted();

}  // namespace fw::trainer
