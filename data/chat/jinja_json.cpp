// transformers' tojson filter is json.dumps(x, ensure_ascii=False, indent=indent,
// separators=separators, sort_keys=sort_keys): this writes what that writes, byte for
// byte (float repr, escapes, the ", "/": " separators without indent and "," with it).
#include <algorithm>
#include <cstdio>

#include "data/chat/jinja_eval.h"
#include "data/chat/jinja_pystr.h"

namespace fw::data::jinja {

namespace {

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

struct Writer {
  int indent;
  bool use_indent;
  const std::string& item_sep;
  const std::string& key_sep;
  bool sort_keys;
  std::string out;

  void newline(int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent * level), ' ');
  }

  void write(const Value& v, int level) {
    switch (v.kind) {
      case Kind::None: out += "null"; return;
      case Kind::Bool: out += v.boolean ? "true" : "false"; return;
      case Kind::Int: out += std::to_string(v.integer); return;
      case Kind::Float: {
        const std::string r = py::float_repr(v.number);
        out += r == "nan" ? "NaN" : r == "inf" ? "Infinity" : r == "-inf" ? "-Infinity" : r;
        return;
      }
      case Kind::String: write_string(out, v.str); return;
      case Kind::List: {
        if (v.list->empty()) {
          out += "[]";
          return;
        }
        out += '[';
        for (size_t k = 0; k < v.list->size(); ++k) {
          if (k) out += item_sep;
          if (use_indent) newline(level + 1);
          write((*v.list)[k], level + 1);
        }
        if (use_indent) newline(level);
        out += ']';
        return;
      }
      case Kind::Dict: {
        if (v.dict->items.empty()) {
          out += "{}";
          return;
        }
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& item : v.dict->items) items.push_back(&item);
        if (sort_keys)
          std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
        out += '{';
        for (size_t k = 0; k < items.size(); ++k) {
          if (k) out += item_sep;
          if (use_indent) newline(level + 1);
          write_string(out, items[k]->first);
          out += key_sep;
          write(items[k]->second, level + 1);
        }
        if (use_indent) newline(level);
        out += '}';
        return;
      }
      default: throw EvalError("Object of type " + type_name(v) + " is not JSON serializable");
    }
  }
};

}  // namespace

std::string to_json(const Value& v, int indent, bool use_indent, const std::string& item_sep,
                    const std::string& key_sep, bool sort_keys) {
  Writer w{indent, use_indent, item_sep, key_sep, sort_keys, {}};
  w.write(v, 0);
  return std::move(w.out);
}

}  // namespace fw::data::jinja
