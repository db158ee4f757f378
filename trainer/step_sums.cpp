#include "trainer/step_sums.h"

#include <vector>

#include "core/error.h"

namespace fw::trainer {

StepSums::StepSums(std::initializer_list<const char*> names) {
  for (const char* n : names) values_.emplace(n, 0.0);
}

double& StepSums::operator[](const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) throw_runtime("step statistic '" + name + "' was not declared");
  return it->second;
}

double StepSums::operator[](const std::string& name) const { return const_cast<StepSums&>(*this)[name]; }

void StepSums::all_reduce(dist::ProcessGroup& pg) {
  std::vector<double> v;
  for (const auto& [name, value] : values_) v.push_back(value);
  v = dist::all_reduce_sum(pg, std::move(v));
  size_t i = 0;
  for (auto& [name, value] : values_) value = v[i++];
}

}  // namespace fw::trainer
