#include "config/scalars.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "core/error.h"

namespace fw::config::detail {

void fail(const Origin& where, const std::string& path, std::string message, std::string hint) {
  if (!where.override_text.empty()) message += " in override '" + where.override_text + "'";
  throw_invalid(std::move(message),
                {where.source, where.line, where.column, path, std::move(hint)});
}

void type_error(const Node& node, const std::string& path, std::string_view expected) {
  fail(node.origin, path, "expected " + std::string(expected) + ", got " + describe(node));
}

namespace {

// The plain (unquoted) scalar text, or a type error.
const std::string& plain(const Node& node, const std::string& path, std::string_view expected) {
  if (!node.is_scalar() || node.quoted) type_error(node, path, expected);
  return node.scalar;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal integer text: optional sign, then digits only.
bool integer_syntax(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

}  // namespace

bool decode_bool(const Node& node, const std::string& path) {
  const std::string& s = plain(node, path, "true or false");
  if (s == "true") return true;
  if (s == "false") return false;
  type_error(node, path, "true or false");
}

int64_t decode_int(const Node& node, const std::string& path, int64_t lo, int64_t hi) {
  std::string expected = "an integer";
  const std::string& s = plain(node, path, expected);
  if (!integer_syntax(s)) type_error(node, path, expected);
  std::string_view digits = s;
  if (digits[0] == '+') digits.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v < lo || v > hi)
    type_error(node, path, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

uint64_t decode_uint(const Node& node, const std::string& path, uint64_t hi) {
  std::string expected = "an integer from 0 to " + std::to_string(hi);
  const std::string& s = plain(node, path, "an integer");
  if (!integer_syntax(s)) type_error(node, path, "an integer");
  std::string_view digits = s;
  if (digits[0] == '+') digits.remove_prefix(1);
  if (digits[0] == '-') type_error(node, path, expected);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v > hi)
    type_error(node, path, expected);
  return v;
}

double decode_double(const Node& node, const std::string& path) {
  const std::string& s = plain(node, path, "a number");
  std::string_view t = s;
  bool negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  if (t == ".inf" || t == ".Inf" || t == ".INF")
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  if (t == ".nan" || t == ".NaN" || t == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  // from_chars alone would also take "inf", "nan" and "infinity", which YAML reads as
  // strings; require a digit or a '.' up front.
  if (t.empty() || !(is_digit(t[0]) || t[0] == '.')) type_error(node, path, "a number");
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc::result_out_of_range)
    type_error(node, path, "a number within the range of a double");
  if (ec != std::errc() || end != t.data() + t.size()) type_error(node, path, "a number");
  return negative ? -v : v;
}

nlohmann::ordered_json decode_json(const Node& node, const std::string& path) {
  switch (node.kind) {
    case Node::Kind::Null: return nullptr;
    case Node::Kind::List: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (size_t i = 0; i < node.items.size(); ++i) out.push_back(decode_json(node.items[i], item_path(path, i)));
      return out;
    }
    case Node::Kind::Map: {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (const auto& e : node.entries) out[e.key] = decode_json(e.value, child_path(path, e.key));
      return out;
    }
    case Node::Kind::Scalar: break;
  }
  const std::string& s = node.scalar;
  if (node.quoted) return s;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  // YAML 1.1's booleans would read as true-ish strings here: ask for what is meant.
  for (const char* word : {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"})
    if (s == word)
      fail(node.origin, path, "'" + s + "' is ambiguous (YAML 1.1 reads it as a boolean)",
           "write true or false for a boolean, or quote it for a string");
  if (integer_syntax(s)) {
    std::string_view digits = s;
    if (digits[0] == '+') digits.remove_prefix(1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && end == digits.data() + digits.size()) return v;
  }
  const char c = s[0];
  if (is_digit(c) || c == '.' || ((c == '-' || c == '+') && s.size() > 1)) {
    try {
      return decode_double(node, path);
    } catch (const Error&) {
      // not a number: a string such as "7b-chat"
    }
  }
  return s;
}

Node encode_json(const nlohmann::ordered_json& v) {
  Node n;
  if (v.is_null()) return n;
  if (v.is_boolean()) return encode_bool(v.get<bool>());
  if (v.is_number_integer()) return v.is_number_unsigned() ? encode_uint(v.get<uint64_t>()) : encode_int(v.get<int64_t>());
  if (v.is_number()) return encode_double(v.get<double>());
  if (v.is_string()) return encode_string(v.get<std::string>());
  if (v.is_array()) {
    n.kind = Node::Kind::List;
    for (const auto& item : v) n.items.push_back(encode_json(item));
    return n;
  }
  n.kind = Node::Kind::Map;
  for (const auto& [key, value] : v.items()) n.entries.push_back({key, {}, encode_json(value)});
  return n;
}

std::string decode_string(const Node& node, const std::string& path) {
  if (!node.is_scalar()) type_error(node, path, "a string");
  return node.scalar;
}

namespace {

Node scalar(std::string text, bool quoted = false) {
  Node n;
  n.kind = Node::Kind::Scalar;
  n.scalar = std::move(text);
  n.quoted = quoted;
  return n;
}

// Text a YAML 1.1 or 1.2 reader would not take as a string if written plain.
bool reads_as_non_string(const std::string& s) {
  static const char* const kWords[] = {"~",     "null",  "Null",  "NULL", "true", "True", "TRUE",
                                       "false", "False", "FALSE", "yes",  "Yes",  "YES",  "no",
                                       "No",    "NO",    "on",    "On",   "ON",   "off",  "Off",
                                       "OFF",   "y",     "n",     "Y",    "N"};
  if (s.empty()) return true;
  for (const char* w : kWords)
    if (s == w) return true;
  // Anything starting like a number (digits, sign, '.') is quoted; harmless for strings
  // such as "7b-chat", and it keeps "1e5" or ".inf" from turning into numbers.
  char c = s[0];
  return is_digit(c) || c == '-' || c == '+' || c == '.';
}

}  // namespace

Node encode_bool(bool v) { return scalar(v ? "true" : "false"); }
Node encode_int(int64_t v) { return scalar(std::to_string(v)); }
Node encode_uint(uint64_t v) { return scalar(std::to_string(v)); }
Node encode_double(double v) { return scalar(format_double(v)); }
Node encode_float(float v) { return scalar(format_float(v)); }
Node encode_string(const std::string& v) { return scalar(v, reads_as_non_string(v)); }

namespace {

template <class F>
std::string format_floating(F v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round trip
  std::string s(buf, end);
  // "3" would read back as an integer to other tools; keep it visibly a float.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string format_double(double v) { return format_floating(v); }
std::string format_float(float v) { return format_floating(v); }

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string item_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

}  // namespace fw::config::detail
