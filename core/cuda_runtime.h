// Whether this process loaded LibTorch's CUDA side, and why not.
//
// flywheel links LibTorch's CPU library only. The CUDA library (libtorch_cuda.so, which
// brings cuBLAS, cuDNN and the CUDA runtime) takes about 0.4 s and 350 MB to load, so every
// command and test process on a machine without a GPU would pay that for nothing. The
// small shared library built from cuda_runtime.cpp, which every torch-linking program
// links, loads it before main() (a shared-library constructor) when the machine has an
// NVIDIA driver, so on a GPU machine CUDA is there exactly as if it were linked. It must
// be before main: LibTorch decides once, at the first CUDA query, whether CUDA exists
// (at::detail::getCUDAHooks), and a later load would not be seen.
//
// FLYWHEEL_CUDA=1 loads it regardless (a driver this check does not know), FLYWHEEL_CUDA=0
// never does.
#pragma once

#include <string>

namespace fw {

// True when libtorch_cuda.so was loaded into this process.
bool cuda_runtime_loaded();

// Why CUDA is not available to this process, for an error message ("no NVIDIA driver on
// this machine (...)", "FLYWHEEL_CUDA=0", the loader's error); "" when it was loaded.
std::string cuda_runtime_note();

// dlopen()s a library that lies beside this one (build/lib, or the install's lib folder),
// e.g. "libfw_nccl.so"; nullptr with `error` set when it cannot.
void* open_flywheel_library(const std::string& file_name, std::string& error);

}  // namespace fw
