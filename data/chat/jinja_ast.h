// The parsed form of a Jinja template: expressions and statements. One generic node per
// family keeps the parser and the evaluator short; the comments say which fields a kind
// uses.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/chat/jinja_value.h"

namespace fw::data::jinja {

enum class ExprKind {
  Literal,      // literal
  Name,         // name
  List,         // args: items
  Tuple,        // args: items
  Dict,         // args: key, value, key, value, ...
  GetAttr,      // args[0].name
  GetItem,      // args[0][args[1]]
  Slice,        // args[0][args[1]:args[2]:args[3]], each bound may be null
  Call,         // args[0](args[1..], kwargs)
  Filter,       // args[0] | name(args[1..], kwargs); args[0] null inside {% filter %}
  Test,         // args[0] is [not] name(args[1..]); negated
  Not,          // not args[0]
  Negate,       // -args[0]
  Plus,         // +args[0]
  Binary,       // args[0] <name> args[1], name one of + - * / // % **
  And,          // args[0] and args[1]
  Or,           // args[0] or args[1]
  Compare,      // args[0] ops[0] args[1] ops[1] args[2] ... (a chain, as Python)
  Concat,       // args joined with ~
  Conditional,  // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::Literal;
  int line = 0;
  int column = 0;
  Value literal;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

enum class StmtKind {
  Text,        // text
  Output,      // {{ expr }}
  If,          // branches (condition, body); else_body
  For,         // for targets in expr [if cond]: body, else_body
  Set,         // set targets = expr; or set targets[0].attr = expr
  SetBlock,    // set targets[0] | filters: body
  Macro,       // macro name(params): body
  CallBlock,   // call(params) expr: body (the body is `caller`)
  FilterBlock, // filter filters: body
  Generation,  // generation: body (transformers' assistant-mask extension)
  Break,
  Continue,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind = StmtKind::Text;
  int line = 0;
  int column = 0;
  std::string text;  // Text; the macro's name
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::string> targets;
  std::string attr;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default may be null
  std::vector<ExprPtr> filters;                         // Filter exprs with a null subject
};

}  // namespace fw::data::jinja
