#include "config/tree.h"

#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace fw::config {

const Node* Node::find(const std::string& key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

Node* Node::find(const std::string& key) {
  return const_cast<Node*>(static_cast<const Node*>(this)->find(key));
}

namespace {

Origin at(const Origin& base, const YAML::Mark& mark) {
  Origin o = base;
  if (base.override_text.empty() && mark.line >= 0) {
    o.line = mark.line + 1;
    o.column = mark.column + 1;
  }
  return o;
}

ErrorContext context(const Origin& o) { return {o.source, o.line, o.column, "", ""}; }

// `value_origin` overrides the node's own mark: yaml-cpp marks an empty value (`key:` and
// nothing) at the start of the next line, so a map passes its key's position instead.
Node convert(const YAML::Node& y, const Origin& base, const std::string& path,
             const Origin* value_origin = nullptr) {
  Node n;
  n.origin = value_origin ? *value_origin : at(base, y.Mark());
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      n.kind = Node::Kind::Null;
      break;
    case YAML::NodeType::Scalar:
      n.kind = Node::Kind::Scalar;
      n.scalar = y.Scalar();
      // yaml-cpp tags plain scalars "?" and quoted ones "!"; an explicit !!str also
      // means "this is a string".
      n.quoted = y.Tag() == "!" || y.Tag() == "tag:yaml.org,2002:str";
      break;
    case YAML::NodeType::Sequence:
      n.kind = Node::Kind::List;
      for (const auto& item : y)
        n.items.push_back(convert(item, base, path + "[" + std::to_string(n.items.size()) + "]"));
      break;
    case YAML::NodeType::Map:
      n.kind = Node::Kind::Map;
      for (auto it = y.begin(); it != y.end(); ++it) {
        Origin key_origin = at(base, it->first.Mark());
        if (!it->first.IsScalar())
          throw_invalid("map keys must be plain strings", context(key_origin));
        std::string key = it->first.Scalar();
        std::string key_path = path.empty() ? key : path + "." + key;
        for (const auto& e : n.entries) {
          if (e.key == key) {
            ErrorContext ctx = context(key_origin);
            ctx.key = key_path;
            throw_invalid(
                "duplicate key (first written at line " + std::to_string(e.key_origin.line) + ")",
                ctx);
          }
        }
        const Origin* vo = it->second.IsNull() ? &key_origin : nullptr;
        n.entries.push_back({key, key_origin, convert(it->second, base, key_path, vo)});
      }
      break;
  }
  return n;
}

void emit(YAML::Emitter& out, const Node& n) {
  switch (n.kind) {
    case Node::Kind::Null:
      out << YAML::Null;
      break;
    case Node::Kind::Scalar:
      if (n.quoted) out << YAML::DoubleQuoted;
      out << n.scalar;
      break;
    case Node::Kind::List: {
      bool flat = true;
      for (const auto& item : n.items) flat = flat && !item.is_list() && !item.is_map();
      if (flat) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : n.items) emit(out, item);
      out << YAML::EndSeq;
      break;
    }
    case Node::Kind::Map:
      if (n.entries.empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& e : n.entries) {
        out << YAML::Key << e.key << YAML::Value;
        emit(out, e.value);
        // A comment after a block collection would land on its last line; only scalar
        // and flow values get one.
        bool block = (e.value.is_map() && !e.value.entries.empty()) ||
                     (e.value.is_list() && !e.value.items.empty() &&
                      (e.value.items[0].is_map() || e.value.items[0].is_list()));
        if (!e.value.comment.empty() && !block) out << YAML::Comment(e.value.comment);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

Node parse_yaml(const std::string& text, const Origin& base) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    Origin o = at(base, e.mark);
    std::string msg = "YAML syntax error: " + e.msg;
    if (!base.override_text.empty()) msg += " in override '" + base.override_text + "'";
    throw_invalid(msg, context(o));
  }
  // A second document (after `---`) would otherwise be dropped without a word.
  if (docs.size() > 1)
    throw_invalid("more than one YAML document; a recipe is a single document",
                  context(at(base, docs[1].Mark())));
  return docs.empty() ? Node{.origin = base} : convert(docs[0], base, "");
}

std::string emit_yaml(const Node& root) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, root);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::string describe(const Node& node) {
  switch (node.kind) {
    case Node::Kind::Null:
      return "null (no value)";
    case Node::Kind::List:
      return "a list";
    case Node::Kind::Map:
      return "a map";
    case Node::Kind::Scalar:
      break;
  }
  constexpr size_t kMax = 60;
  std::string s = node.scalar.size() > kMax ? node.scalar.substr(0, kMax) + "..." : node.scalar;
  return "'" + s + "'";
}

}  // namespace fw::config
