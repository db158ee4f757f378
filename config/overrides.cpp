#include "config/overrides.h"

#include <charconv>

#include "config/scalars.h"
#include "core/error.h"
#include "core/strings.h"

namespace fw::config {

namespace {

struct Step {
  bool is_index = false;
  std::string key;   // map key (is_index false)
  size_t index = 0;  // list index (is_index true)
};

[[noreturn]] void bad(const std::string& text, const std::string& path, const std::string& why) {
  throw_invalid(why + " in override '" + text + "'", {kCommandLine, 0, 0, path, ""});
}

// "a.b[2].c" -> a, b, [2], c. Every step starts with a key; each key may be followed by
// any number of [index]; steps are joined by dots.
std::vector<Step> parse_path(const std::string& text, const std::string& path) {
  auto syntax = [&] {
    bad(text, "", "malformed key path '" + path + "' (expected key.sub or key[0].sub)");
  };
  std::vector<Step> steps;
  size_t i = 0;
  while (true) {
    size_t end = path.find_first_of(".[]", i);
    if (end == std::string::npos) end = path.size();
    if (end == i) syntax();  // empty key: "a..b", ".a", "[0]", "a."
    steps.push_back({false, path.substr(i, end - i), 0});
    i = end;
    while (i < path.size() && path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) syntax();
      const char* first = path.data() + i + 1;
      const char* last = path.data() + close;
      size_t index = 0;
      auto [stop, ec] = std::from_chars(first, last, index);
      if (first == last || ec != std::errc() || stop != last) syntax();
      steps.push_back({true, "", index});
      i = close + 1;
    }
    if (i == path.size()) break;
    if (path[i] != '.') syntax();  // "a]b", "a[0]b"
    ++i;
  }
  return steps;
}

}  // namespace

void apply_override(Node& root, const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) bad(text, "", "expected key=value");
  const std::string path(trim(std::string_view(text).substr(0, eq)));
  if (path.empty()) bad(text, "", "expected key=value");
  std::vector<Step> steps = parse_path(text, path);

  Origin origin{kCommandLine, 0, 0, text};
  Node value = parse_yaml(text.substr(eq + 1), origin);

  Node* cur = &root;
  std::string at;  // the path walked so far, for messages
  for (const Step& step : steps) {
    if (!step.is_index) {
      if (cur->is_null()) {
        cur->kind = Node::Kind::Map;
        cur->origin = origin;
      }
      if (!cur->is_map())
        bad(text, at,
            "cannot set '" + path + "': " + (at.empty() ? "the document" : "'" + at + "'") +
                " holds " + describe(*cur) + ", not a section");
      at = detail::child_path(at, step.key);
      Node* next = cur->find(step.key);
      if (!next) {
        Node fresh;
        fresh.origin = origin;
        cur->entries.push_back({step.key, origin, std::move(fresh)});
        next = &cur->entries.back().value;
      }
      cur = next;
    } else {
      if (cur->is_null() && step.index == 0) {
        cur->kind = Node::Kind::List;
        cur->origin = origin;
      }
      if (!cur->is_list())
        bad(text, at, "cannot index '" + at + "': it holds " + describe(*cur) + ", not a list");
      if (step.index > cur->items.size())
        bad(text, at,
            "index " + std::to_string(step.index) + " is past the end of the list (" +
                std::to_string(cur->items.size()) + " items)");
      if (step.index == cur->items.size()) {
        Node fresh;
        fresh.origin = origin;
        cur->items.push_back(std::move(fresh));
      }
      at = detail::item_path(at, step.index);
      cur = &cur->items[step.index];
    }
  }
  *cur = std::move(value);
}

void apply_overrides(Node& root, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) apply_override(root, o);
}

}  // namespace fw::config
