// Reading and writing whole recipes: YAML file (or text) + command-line overrides ->
// a typed, validated struct; and the struct -> YAML, for the run folder.
//
//   auto recipe = fw::config::load_recipe<SftRecipe>("configs/sft.yaml", {"optim.lr=3e-6"});
//   fw::config::write_resolved_config(recipe, run_dir + "/config.yaml");
//
// Every problem is an fw::Error (InvalidInput) that names the file:line:column (or
// "command line"), the key path and, where one is close, the key that was meant.
#pragma once

#include <string>
#include <vector>

#include "config/overrides.h"
#include "config/schema.h"
#include "config/tree.h"
#include "core/atomic_file.h"

namespace fw::config {

// The tree of a YAML text / file with the overrides applied, before binding.
Node parse_tree(const std::string& yaml_text, const std::string& source_name,
                const std::vector<std::string>& overrides = {});
Node load_tree(const std::string& path, const std::vector<std::string>& overrides = {});

template <Section T>
T parse_recipe_string(const std::string& yaml_text, const std::string& source_name,
                      const std::vector<std::string>& overrides = {}) {
  T out{};
  config::bind_tree(parse_tree(yaml_text, source_name, overrides), source_name, out);
  return out;
}

template <Section T>
T load_recipe(const std::string& path, const std::vector<std::string>& overrides = {}) {
  T out{};
  config::bind_tree(load_tree(path, overrides), path, out);
  return out;
}

// Every field, defaults included, in declaration order; field docs become end-of-line
// comments. parse_recipe_string<T>(dump_yaml(x), ...) == x.
template <Section T>
std::string dump_yaml(const T& value) {
  return emit_yaml(to_tree(value));
}

template <Section T>
void write_resolved_config(const T& value, const std::string& path) {
  write_file_atomic(path, dump_yaml(value));
}

}  // namespace fw::config
