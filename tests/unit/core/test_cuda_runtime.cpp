// LibTorch's CUDA library is loaded before main() only where an NVIDIA driver is
// (core/cuda_runtime.h). Each case runs this binary again as a child with FLYWHEEL_CUDA
// set, so the load happens (or not) at the child's start-up, as in any flywheel program.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/detail/CUDAHooksInterface.h>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/cuda_runtime.h"
#include "dist/nccl_backend.h"

namespace {

bool cuda_library_mapped() { return dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_NOLOAD) != nullptr; }

// Runs the current case of this binary again in a child process with
// FLYWHEEL_CUDA=`setting` and FW_TEST_CUDA_CHILD=1; its exit status.
int run_child(const std::string& setting) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string cmd = "FLYWHEEL_CUDA=" + setting + " FW_TEST_CUDA_CHILD=1 '" + self + "' --gtest_filter=" +
                          info->test_suite_name() + "." + info->name();
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool in_child() { return std::getenv("FW_TEST_CUDA_CHILD") != nullptr; }

TEST(CudaRuntime, ForcedLoadRegistersLibTorchsCudaSideBeforeMain) {
  if (!in_child()) {
#ifndef FW_TORCH_HAS_CUDA
    GTEST_SKIP() << "this LibTorch has no CUDA library";
#endif
    EXPECT_EQ(run_child("1"), 0);
    return;
  }
  ASSERT_TRUE(fw::cuda_runtime_loaded()) << fw::cuda_runtime_note();
  EXPECT_EQ(fw::cuda_runtime_note(), "");
  EXPECT_TRUE(cuda_library_mapped());
  // The real CUDA hooks answer (the stub that LibTorch keeps for good when CUDA is first
  // queried without them says there is no CUDA runtime).
  EXPECT_TRUE(at::detail::getCUDAHooks().hasCUDART());
  // The NCCL process group's library opens beside it and has its entry point.
  std::string error;
  void* nccl = fw::open_flywheel_library(fw::dist::kNcclLibrary, error);
  ASSERT_NE(nccl, nullptr) << error;
  EXPECT_NE(dlsym(nccl, fw::dist::kMakeNcclSymbol), nullptr);
}

TEST(CudaRuntime, NeverLoadedWhenTurnedOff) {
  if (!in_child()) {
    EXPECT_EQ(run_child("0"), 0);
    return;
  }
  EXPECT_FALSE(fw::cuda_runtime_loaded());
  EXPECT_NE(fw::cuda_runtime_note().find("FLYWHEEL_CUDA=0"), std::string::npos);
  EXPECT_FALSE(cuda_library_mapped());
  EXPECT_FALSE(at::detail::getCUDAHooks().hasCUDART());
}

// Without the variable, the machine decides: loaded exactly where an NVIDIA driver is.
TEST(CudaRuntime, LoadedExactlyWhereAnNvidiaDriverIs) {
  const bool driver = access("/proc/driver/nvidia/version", F_OK) == 0 || access("/dev/nvidiactl", F_OK) == 0 ||
                      access("/dev/dxg", F_OK) == 0;
  if (std::getenv("FLYWHEEL_CUDA")) GTEST_SKIP() << "FLYWHEEL_CUDA is set in this environment";
  EXPECT_EQ(fw::cuda_runtime_loaded(), driver) << fw::cuda_runtime_note();
  EXPECT_EQ(cuda_library_mapped(), driver);
  if (!driver) EXPECT_NE(fw::cuda_runtime_note().find("no NVIDIA driver"), std::string::npos);
}

}  // namespace
