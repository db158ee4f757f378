// libfw_nccl.so: ProcessGroupNCCL for dist/process_group.cpp (see nccl_backend.h).
#include "dist/nccl_backend.h"

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

extern "C" __attribute__((visibility("default"))) c10::intrusive_ptr<c10d::Backend> fw_make_nccl_backend(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int world, std::chrono::milliseconds timeout,
    c10::DeviceIndex device) {
  c10::cuda::set_device(device);
  auto o = c10d::ProcessGroupNCCL::Options::create();
  o->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", store), rank,
                                                     world, o);
}

// The declared type and the definition agree.
static_assert(std::is_same_v<decltype(fw_make_nccl_backend), fw::dist::MakeNcclBackend>);
