#include "config/recipe.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace fw::config {

Node parse_tree(const std::string& yaml_text, const std::string& source_name,
                const std::vector<std::string>& overrides) {
  Node root = parse_yaml(yaml_text, Origin{source_name, 0, 0, ""});
  apply_overrides(root, overrides);
  return root;
}

Node load_tree(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw_invalid("is a folder, expected a YAML recipe file", {.file = path});
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw_invalid(std::string("cannot open recipe: ") + std::strerror(errno), {.file = path});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw_runtime(std::string("cannot read recipe: ") + std::strerror(errno), {.file = path});
  return parse_tree(text.str(), path, overrides);
}

}  // namespace fw::config
