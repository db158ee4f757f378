// A step's statistics by name: summed over this rank's micro-batches, then over every
// rank in one collective. Every rank declares the same names (a rank with no rows this
// step still takes part with zeros).
//
//   StepSums s({"loss", "correct"});
//   s["loss"] += ...;            // per micro-batch
//   s.all_reduce(pg);            // the step's totals on every rank
//   metrics: {"accuracy", s["correct"] / pairs}
#pragma once

#include <initializer_list>
#include <map>
#include <string>

#include "dist/process_group.h"

namespace fw::trainer {

class StepSums {
 public:
  explicit StepSums(std::initializer_list<const char*> names);
  double& operator[](const std::string& name);  // an undeclared name is a programming error (throws)
  double operator[](const std::string& name) const;
  void all_reduce(dist::ProcessGroup& pg);  // sums every value over the ranks

 private:
  std::map<std::string, double> values_;  // ordered: the same order on every rank
};

}  // namespace fw::trainer
