#include "trainer/rng_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/serialize.h>

#include "core/error.h"

namespace fw::trainer {

void save_rng_state(const std::string& path) {
  std::vector<at::Tensor> states = {at::detail::getDefaultCPUGenerator().get_state()};
  if (at::globalContext().hasCUDA()) {
    const auto n = at::detail::getCUDAHooks().deviceCount();
    for (c10::DeviceIndex d = 0; d < n; ++d) states.push_back(at::globalContext().defaultGenerator(at::Device(at::kCUDA, d)).get_state());
  }
  torch::save(states, path);
}

void load_rng_state(const std::string& path) {
  std::vector<at::Tensor> states;
  try {
    torch::load(states, path);
  } catch (const c10::Error& e) {
    throw_invalid(std::string("cannot read RNG state: ") + e.what_without_backtrace(), {.file = path});
  }
  if (states.empty()) throw_invalid("RNG state file is empty", {.file = path});
  auto restore = [](at::Generator gen, const at::Tensor& state) {  // a handle sharing the generator
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  };
  restore(at::detail::getDefaultCPUGenerator(), states[0]);
  if (at::globalContext().hasCUDA()) {
    const auto n = at::detail::getCUDAHooks().deviceCount();
    for (c10::DeviceIndex d = 0; d < n && d + 1 < static_cast<long>(states.size()); ++d)
      restore(at::globalContext().defaultGenerator(at::Device(at::kCUDA, d)), states[d + 1]);
  }
}

}  // namespace fw::trainer
