// Recipe structs shared by the config tests: one of every supported field shape.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/recipe.h"
#include "core/error.h"

namespace fw::config::test {

struct OptimConfig {
  double lr = 1e-5;                 // peak learning rate
  int warmup_steps = 0;             // linear warm-up, in optimizer steps
  std::string schedule = "cosine";  // after warm-up
  std::optional<double> min_lr;     // floor of the schedule; unset = 0
  float beta = 0.1f;                // a float field, to cover float

  template <class V>
  void visit(V& v) {
    v.field("lr", lr, "peak learning rate").range(0.0, 1.0);
    v.field("warmup_steps", warmup_steps).min(0);
    v.field("schedule", schedule).one_of({"constant", "linear", "cosine"});
    v.field("min_lr", min_lr).min(0.0);
    v.field("beta", beta).min(0.0f);
    v.check(!min_lr || *min_lr <= lr, "min_lr", "must not exceed optim.lr");
  }
  bool operator==(const OptimConfig&) const = default;
};

struct Competitor {
  std::string name;                // model name, required
  std::string endpoint = "local";  // "local" or an OpenAI-compatible URL
  double temperature = 0.7;        // sampling temperature

  template <class V>
  void visit(V& v) {
    v.field("name", name).required().non_empty();
    v.field("endpoint", endpoint);
    v.field("temperature", temperature).range(0.0, 2.0);
  }
  bool operator==(const Competitor&) const = default;
};

struct Recipe {
  std::string model;  // required
  OptimConfig optim;
  std::vector<std::string> data;  // JSONL files
  std::optional<int> seed;        // unset = random
  bool bf16 = true;
  int64_t max_tokens = int64_t{1} << 20;
  uint32_t num_workers = 2;
  std::vector<Competitor> competitors;
  std::map<std::string, std::string> extra;  // free-form keys
  std::vector<int> eval_steps = {100};

  template <class V>
  void visit(V& v) {
    v.field("model", model, "base model").required();
    v.section("optim", optim);
    v.field("data", data, "training files");
    v.field("seed", seed);
    v.field("bf16", bf16);
    v.field("max_tokens", max_tokens).min(1);
    v.field("num_workers", num_workers).max(64);
    v.field("competitors", competitors);
    v.field("extra", extra);
    v.field("eval_steps", eval_steps).min(1);
  }
  bool operator==(const Recipe&) const = default;
};

// The error text of running `f`, or "no error".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    return e.what();
  }
  return "no error";
}

// The fw::Error thrown by `f` (the test fails if none is).
template <class F>
fw::Error catch_error(F&& f) {
  try {
    f();
  } catch (const fw::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an fw::Error";
  return fw::Error(fw::ErrorKind::Runtime, "no error");
}

inline Recipe parse(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return parse_recipe_string<Recipe>(yaml, "recipe.yaml", overrides);
}

}  // namespace fw::config::test
