#include "data/chat/jinja_pystr.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace fw::data::jinja::py {

namespace {

// Length of the UTF-8 sequence starting with byte c (1 for stray or invalid bytes, so
// every byte belongs to some "code point" and nothing is lost).
size_t seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) return 2;
  if ((c & 0xf0) == 0xe0) return 3;
  if ((c & 0xf8) == 0xf0) return 4;
  return 1;
}

uint32_t decode_at(std::string_view s, size_t pos, size_t n) {
  unsigned char c = static_cast<unsigned char>(s[pos]);
  if (n == 1 || pos + n > s.size()) return c;
  uint32_t cp = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[pos + k]) & 0x3f);
  return cp;
}

bool in_chars(uint32_t cp, const std::vector<uint32_t>& chars) {
  for (uint32_t c : chars)
    if (c == cp) return true;
  return false;
}

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::vector<size_t> code_point_offsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    i += std::min(seq_len(static_cast<unsigned char>(s[i])), s.size() - i);
  }
  offsets.push_back(s.size());
  return offsets;
}

size_t code_point_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::vector<uint32_t> decode(std::string_view s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    size_t n = std::min(seq_len(static_cast<unsigned char>(s[i])), s.size() - i);
    cps.push_back(decode_at(s, i, n));
    i += n;
  }
  return cps;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

bool is_space(uint32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f) || cp == 0x85 ||
         cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<size_t> off = code_point_offsets(s);
  const std::vector<uint32_t> set = chars ? decode(*chars) : std::vector<uint32_t>{};
  auto strippable = [&](size_t k) {
    uint32_t cp = decode_at(s, off[k], off[k + 1] - off[k]);
    return chars ? in_chars(cp, set) : is_space(cp);
  };
  size_t b = 0, e = off.size() - 1;
  if (left)
    while (b < e && strippable(b)) ++b;
  if (right)
    while (e > b && strippable(e - 1)) --e;
  return std::string(s.substr(off[b], off[e] - off[b]));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<long>(parts.size()) < maxsplit) {
      size_t p = s.find(*sep, start);
      if (p == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, p - start));
      start = p + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  const std::vector<size_t> off = code_point_offsets(s);
  const size_t n = off.size() - 1;
  auto space = [&](size_t k) { return is_space(decode_at(s, off[k], off[k + 1] - off[k])); };
  size_t k = 0;
  while (k < n) {
    while (k < n && space(k)) ++k;
    if (k == n) break;
    if (maxsplit >= 0 && static_cast<long>(parts.size()) == maxsplit) {
      parts.emplace_back(s.substr(off[k]));  // the rest, verbatim (trailing whitespace too)
      break;
    }
    size_t b = k;
    while (k < n && !space(k)) ++k;
    parts.emplace_back(s.substr(off[b], off[k] - off[b]));
  }
  return parts;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long maxsplit) {
  if (maxsplit < 0) return split(s, sep, maxsplit);
  std::vector<std::string> parts;
  if (sep) {
    size_t end = s.size();
    while (static_cast<long>(parts.size()) < maxsplit && end >= sep->size()) {
      size_t p = s.rfind(*sep, end - sep->size());
      if (p == std::string_view::npos) break;
      parts.emplace_back(s.substr(p + sep->size(), end - p - sep->size()));
      end = p;
    }
    parts.emplace_back(s.substr(0, end));
  } else {
    const std::vector<size_t> off = code_point_offsets(s);
    auto space = [&](size_t k) { return is_space(decode_at(s, off[k], off[k + 1] - off[k])); };
    size_t k = off.size() - 1;
    while (k > 0) {
      while (k > 0 && space(k - 1)) --k;
      if (k == 0) break;
      if (static_cast<long>(parts.size()) == maxsplit) {
        parts.emplace_back(s.substr(0, off[k]));  // the rest, verbatim (leading whitespace too)
        break;
      }
      size_t e = k;
      while (k > 0 && !space(k - 1)) --k;
      parts.emplace_back(s.substr(off[k], off[e] - off[k]));
    }
  }
  return {parts.rbegin(), parts.rend()};
}

std::vector<std::string> splitlines(std::string_view s) {
  std::vector<std::string> lines;
  const std::vector<size_t> off = code_point_offsets(s);
  size_t start = 0;
  for (size_t k = 0; k + 1 < off.size(); ++k) {
    uint32_t cp = decode_at(s, off[k], off[k + 1] - off[k]);
    bool brk = cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || (cp >= 0x1c && cp <= 0x1e) ||
               cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!brk) continue;
    lines.emplace_back(s.substr(start, off[k] - start));
    start = off[k + 1];
    if (cp == '\r' && start < s.size() && s[start] == '\n') {
      ++start;
      ++k;
    }
  }
  if (start < s.size()) lines.emplace_back(s.substr(start));
  return lines;
}

std::string replace(std::string_view s, std::string_view old, std::string_view repl, long count) {
  std::string out;
  if (old.empty()) {  // Python inserts `repl` before every code point and at the end
    const std::vector<size_t> off = code_point_offsets(s);
    long done = 0;
    for (size_t k = 0; k + 1 < off.size(); ++k) {
      if (count < 0 || done < count) out += repl, ++done;
      out += s.substr(off[k], off[k + 1] - off[k]);
    }
    if (count < 0 || done < count) out += repl;
    return out;
  }
  size_t start = 0;
  long done = 0;
  while (count < 0 || done < count) {
    size_t p = s.find(old, start);
    if (p == std::string_view::npos) break;
    out += s.substr(start, p - start);
    out += repl;
    start = p + old.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string title(std::string_view s) {
  std::string out(s);
  bool prev_cased = false;
  for (char& c : out) {
    if (ascii_alpha(c)) {
      c = prev_cased ? ascii_lower(c) : ascii_upper(c);
      prev_cased = true;
    } else {
      prev_cased = false;
    }
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out = lower(s);
  if (!out.empty()) out[0] = ascii_upper(out[0]);
  return out;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // The shortest round-trip digits and the decimal exponent, then Python's layout:
  // positional for exponents in [-4, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + ebuf;
  }
  if (exponent < 0) return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  const size_t int_len = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

std::string str_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (uint32_t cp : decode(s)) {
    char buf[16];
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) {
      std::snprintf(buf, sizeof buf, "\\x%02x", cp);
      out += buf;
    } else if ((cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
               (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff || cp == 0x1680) {
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
    } else {
      append_utf8(out, cp);
    }
  }
  out += quote;
  return out;
}

}  // namespace fw::data::jinja::py
