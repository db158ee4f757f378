#include "core/cuda_runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace fw {
namespace {

struct LoadResult {
  bool loaded = false;
  std::string note;
};

LoadResult& result() {
  static LoadResult r;
  return r;
}

bool nvidia_driver_present() {
  // The kernel driver's files: Linux (/proc, /dev/nvidiactl) and WSL2 (/dev/dxg).
  for (const char* p : {"/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg"})
    if (access(p, F_OK) == 0) return true;
  return false;
}

std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&nvidia_driver_present), &info) == 0 || !info.dli_fname) return "";
  const std::string path = info.dli_fname;
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// Runs when the library is loaded, after LibTorch's CPU library (which this one links, so
// that its static registrations are done) and before main().
__attribute__((constructor)) void load_cuda_runtime() {
  LoadResult& r = result();
  const char* env = std::getenv("FLYWHEEL_CUDA");
  const std::string setting = env ? env : "";
  if (setting == "0") {
    r.note = "FLYWHEEL_CUDA=0 keeps the CUDA runtime unloaded";
    return;
  }
  if (setting != "1" && !nvidia_driver_present()) {
    r.note = "this machine has no NVIDIA driver (no /proc/driver/nvidia, /dev/nvidiactl or /dev/dxg); "
             "set FLYWHEEL_CUDA=1 to load LibTorch's CUDA library regardless";
    return;
  }
  // Found through this library's run path (LibTorch's lib folder), as the linker found
  // libtorch_cpu.so.
  if (dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_GLOBAL) != nullptr) {
    r.loaded = true;
    return;
  }
  const char* err = dlerror();
  r.note = std::string("LibTorch's CUDA library did not load: ") + (err ? err : "unknown error");
}

}  // namespace

bool cuda_runtime_loaded() { return result().loaded; }

std::string cuda_runtime_note() { return result().loaded ? "" : result().note; }

void* open_flywheel_library(const std::string& file_name, std::string& error) {
  const std::string dir = own_directory();
  const std::string path = dir.empty() ? file_name : dir + "/" + file_name;
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* err = dlerror();
    error = err ? err : "cannot open " + path;
  }
  return h;
}

}  // namespace fw
