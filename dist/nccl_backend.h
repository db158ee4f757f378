// The NCCL process group lives in its own shared library (libfw_nccl.so), the one part of
// flywheel that links LibTorch's CUDA library: the programs link the CPU library only and
// load the CUDA one at start-up where a GPU driver is (core/cuda_runtime.h), and open this
// library when a run asks for NCCL.
#pragma once

#include <chrono>

#include <c10/core/Device.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace fw::dist {

inline constexpr const char* kNcclLibrary = "libfw_nccl.so";
inline constexpr const char* kMakeNcclSymbol = "fw_make_nccl_backend";

// Sets the current CUDA device to `device` and makes a ProcessGroupNCCL on `store`.
using MakeNcclBackend = c10::intrusive_ptr<c10d::Backend>(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                         int world, std::chrono::milliseconds timeout,
                                                         c10::DeviceIndex device);

}  // namespace fw::dist
