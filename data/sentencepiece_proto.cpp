#include "data/sentencepiece_proto.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace fw::data {
namespace {

// The continuation encoder is the same model with NormalizerSpec.add_dummy_prefix and
// .remove_extra_whitespaces turned off. Sentencepiece has no runtime switch for that and
// Debian's package ships no protobuf headers, so we edit the wire format directly:
//   ModelProto:     1 pieces, 2 trainer_spec, 3 normalizer_spec, 4 self_test_data, 5 denorm.
//   NormalizerSpec: 1 name, 2 precompiled_charmap, 3 add_dummy_prefix (default true),
//                   4 remove_extra_whitespaces (default true), 5 escape_whitespaces, ...
// self_test_data is dropped from the edited copy: its expected outputs assume the prefix.

bool read_varint(std::string_view s, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= s.size()) return false;
    uint8_t b = static_cast<uint8_t>(s[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void write_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

struct WireField {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  std::string_view raw;      // the whole field: tag and value
  std::string_view payload;  // length-delimited fields: the bytes; varints: the varint
  uint64_t value = 0;        // varint fields
};

// Splits a message into its fields; std::nullopt if the bytes are not a valid message.
std::optional<std::vector<WireField>> parse_fields(std::string_view s) {
  std::vector<WireField> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    uint64_t tag = 0;
    if (!read_varint(s, pos, tag)) return std::nullopt;
    WireField f;
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire_type = static_cast<uint32_t>(tag & 7);
    size_t value_start = pos;
    switch (f.wire_type) {
      case 0:
        if (!read_varint(s, pos, f.value)) return std::nullopt;
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        uint64_t len = 0;
        if (!read_varint(s, pos, len) || len > s.size() - std::min(pos, s.size()))
          return std::nullopt;
        value_start = pos;
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        return std::nullopt;  // groups (3, 4) are not used by sentencepiece
    }
    if (pos > s.size()) return std::nullopt;
    f.raw = s.substr(start, pos - start);
    f.payload = s.substr(value_start, pos - value_start);
    out.push_back(f);
  }
  return out;
}

}  // namespace

NormalizerFlags read_normalizer_flags(std::string_view proto) {
  NormalizerFlags flags;
  auto fields = parse_fields(proto);
  if (!fields) return flags;
  for (const auto& f : *fields) {
    if (f.number != 3 || f.wire_type != 2) continue;
    auto sub = parse_fields(f.payload);
    if (!sub) continue;
    for (const auto& g : *sub) {
      if (g.wire_type != 0) continue;
      if (g.number == 3) flags.add_dummy_prefix = g.value != 0;
      if (g.number == 4) flags.remove_extra_whitespaces = g.value != 0;
    }
  }
  return flags;
}

std::optional<std::string> continuation_proto(std::string_view proto) {
  auto fields = parse_fields(proto);
  if (!fields) return std::nullopt;
  std::string out;
  out.reserve(proto.size());
  bool seen_normalizer = false;
  auto normalizer_suffix = std::string("\x18\x00\x20\x00", 4);  // fields 3 and 4 = false
  for (const auto& f : *fields) {
    if (f.number == 4) continue;  // self_test_data
    if (f.number == 3 && f.wire_type == 2) {
      auto sub = parse_fields(f.payload);
      if (!sub) return std::nullopt;
      std::string body;
      for (const auto& g : *sub)
        if (g.number != 3 && g.number != 4) body.append(g.raw);
      body += normalizer_suffix;
      out.push_back(static_cast<char>((3 << 3) | 2));
      write_varint(out, body.size());
      out += body;
      seen_normalizer = true;
      continue;
    }
    out.append(f.raw);
  }
  if (!seen_normalizer) {
    out.push_back(static_cast<char>((3 << 3) | 2));
    write_varint(out, normalizer_suffix.size());
    out += normalizer_suffix;
  }
  return out;
}

}  // namespace fw::data
