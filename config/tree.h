// A YAML document as a small tree of strings, each node remembering where it came from
// (file:line:column, or the command-line override that set it). The binder reads this
// tree instead of yaml-cpp's nodes so that yaml-cpp stays out of every public header, and
// so that overrides can edit the tree before binding and still be blamed precisely.
#pragma once

#include <string>
#include <vector>

namespace fw::config {

// Where a node or key was written.
struct Origin {
  std::string source;         // file name, or "command line" for overrides
  long line = 0;              // 1-based, 0 if unknown (always 0 for overrides)
  long column = 0;            // 1-based, 0 if unknown
  std::string override_text;  // "optim.lr=abc" when the value came from an override
};

struct Entry;

struct Node {
  enum class Kind { Null, Scalar, List, Map };

  Kind kind = Kind::Null;
  std::string scalar;          // Scalar: the text as written, quotes removed
  bool quoted = false;         // Scalar: written quoted (or !!str), so only ever a string
  std::vector<Node> items;     // List
  std::vector<Entry> entries;  // Map, in document order, keys unique
  std::string comment;         // emitted after the value by emit_yaml (dumps only)
  Origin origin;

  bool is_null() const { return kind == Kind::Null; }
  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_list() const { return kind == Kind::List; }
  bool is_map() const { return kind == Kind::Map; }

  // Map lookup; nullptr if absent.
  const Node* find(const std::string& key) const;
  Node* find(const std::string& key);
};

struct Entry {
  std::string key;
  Origin key_origin;  // where the key itself was written (unknown-key errors point here)
  Node value;
};

// Parses one YAML document. Every node's origin is `base` with the line and column of the
// node filled in; when `base.override_text` is set, line and column stay 0 (the text is a
// command-line value, its positions mean nothing to the user). Syntax errors, duplicate
// keys and non-scalar keys throw fw::Error (InvalidInput) with file:line:column.
Node parse_yaml(const std::string& text, const Origin& base);

// Writes a tree as block-style YAML; lists of scalars are written in flow style
// (`[a, b]`). Scalars with `quoted` set are double-quoted.
std::string emit_yaml(const Node& root);

// Short description of a node for error messages: 'abc', a list, a map, null.
std::string describe(const Node& node);

}  // namespace fw::config
