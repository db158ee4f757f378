// Command-line overrides: `optim.lr=3e-6`, `data=[a.jsonl,b.jsonl]`,
// `competitors[1].name=gpt`. Each is applied to the parsed tree before binding, so the
// binder checks override values exactly like file values (unknown keys, types, ranges),
// and blames "command line" and the override text when one is wrong.
#pragma once

#include <string>
#include <vector>

#include "config/tree.h"

namespace fw::config {

// The source name errors show for override values.
inline constexpr const char* kCommandLine = "command line";

// Sets the value at a key path, creating map keys that are missing (so an override may
// set a key the file omitted) and appending a list item when the index equals the list's
// length. The value is read as YAML (a scalar, or a flow list / map); an empty value is
// null. Throws fw::Error (InvalidInput) for malformed text or a path that runs through a
// scalar or past the end of a list.
void apply_override(Node& root, const std::string& text);
void apply_overrides(Node& root, const std::vector<std::string>& overrides);

}  // namespace fw::config
