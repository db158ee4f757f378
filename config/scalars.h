// Leaf conversions between tree scalars and C++ values, and the error builders the binder
// uses. Non-template so that the templates in schema.h stay thin. Everything here is an
// implementation detail of schema.h; recipes never call it directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/tree.h"

namespace fw::config::detail {

// Throws fw::Error (InvalidInput) located at `where`, keyed by `path`. A value that came
// from an override says so in the message.
[[noreturn]] void fail(const Origin& where, const std::string& path, std::string message,
                       std::string hint = "");

// "expected <expected>, got <what the node holds>", located at the node.
[[noreturn]] void type_error(const Node& node, const std::string& path, std::string_view expected);

// YAML 1.2 core-schema scalars, read strictly: booleans are exactly true/false, integers
// are decimal without a fraction or exponent, numbers also accept .inf/-.inf/.nan. Quoted
// scalars are strings and never numbers or booleans.
bool decode_bool(const Node& node, const std::string& path);
int64_t decode_int(const Node& node, const std::string& path, int64_t lo, int64_t hi);
uint64_t decode_uint(const Node& node, const std::string& path, uint64_t hi);
double decode_double(const Node& node, const std::string& path);
std::string decode_string(const Node& node, const std::string& path);

// The inverse; encode_string quotes text that would otherwise read as null, a boolean or
// a number, so that other YAML readers see a string too.
Node encode_bool(bool v);
Node encode_int(int64_t v);
Node encode_uint(uint64_t v);
Node encode_double(double v);
Node encode_float(float v);  // shortest text for the float, so 0.1f dumps as 0.1
Node encode_string(const std::string& v);

// A free-form value (a chat template's keyword arguments): a plain scalar reads as YAML's
// core schema does (null, true/false, an integer, a number, else a string), a quoted one
// is always a string, lists and maps nest (maps keep their order).
nlohmann::ordered_json decode_json(const Node& node, const std::string& path);
Node encode_json(const nlohmann::ordered_json& v);

// Shortest text that reads back to the same value ("1e-05", "0.1", "3.0", ".inf").
std::string format_double(double v);
std::string format_float(float v);

std::string child_path(const std::string& parent, std::string_view key);  // "optim.lr"
std::string item_path(const std::string& parent, size_t index);           // "data[2]"

}  // namespace fw::config::detail
