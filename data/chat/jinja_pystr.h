// Python's str methods on UTF-8 strings, as chat templates call them. Lengths, indices and
// slices count code points (Python's), not bytes. Case mapping covers ASCII only: other
// characters keep their case.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fw::data::jinja::py {

// Byte offset of every code point, plus s.size() at the end.
std::vector<size_t> code_point_offsets(std::string_view s);
size_t code_point_count(std::string_view s);
std::vector<uint32_t> decode(std::string_view s);
void append_utf8(std::string& out, uint32_t cp);

bool is_space(uint32_t cp);  // str.isspace

// str.strip/lstrip/rstrip: `chars` absent strips whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split / str.rsplit: `sep` absent splits on runs of whitespace.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long maxsplit);
std::vector<std::string> splitlines(std::string_view s);
std::string replace(std::string_view s, std::string_view old, std::string_view repl, long count);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title
std::string capitalize(std::string_view s);  // str.capitalize

// repr(float): the shortest text that reads back, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string float_repr(double d);
// repr(str): quoted with ' (or " if the string holds ' but no "), escapes as Python.
std::string str_repr(std::string_view s);

}  // namespace fw::data::jinja::py
