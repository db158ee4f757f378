#include "data/chat/jinja_parser.h"

#include <initializer_list>

#include "core/error.h"

namespace fw::data::jinja {

namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name, int max_depth)
      : toks_(tokens), name_(name), max_depth_(max_depth) {}

  Body run() {
    Body body = parse_body({});
    if (cur().type != TokenType::End) fail("unexpected '" + cur().text + "'");
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  bool is_op(const char* op) const { return cur().type == TokenType::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == TokenType::Name && cur().text == n; }
  const Token& next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  [[noreturn]] void fail(const std::string& message) const { fail_at(message, cur()); }
  [[noreturn]] void fail_at(const std::string& message, const Token& t) const {
    throw_invalid("template syntax error: " + message, {.file = name_, .line = t.line, .column = t.column});
  }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::End: return "end of template";
      case TokenType::BlockEnd: return "end of statement block";
      case TokenType::VarEnd: return "end of print statement";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(std::string("expected '") + op + "', got " + describe(cur()));
    next();
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) fail("expected a name, got " + describe(cur()));
    return next().text;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) fail("expected end of statement block, got " + describe(cur()));
    next();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > p.max_depth_) p.fail("the template nests deeper than " + std::to_string(p.max_depth_) + " levels");
    }
    ~DepthGuard() { --p.depth_; }
  };

  ExprPtr node(ExprKind kind, const Token& at) const {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }

  // ---- statements ----
  // Parses until a block tag whose keyword is one of `stops` (left unconsumed, at the
  // keyword) or the end of the template.
  Body parse_body(std::initializer_list<const char*> stops) {
    DepthGuard guard(*this);
    Body body;
    while (cur().type != TokenType::End) {
      const Token& t = cur();
      if (t.type == TokenType::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->text = t.text;
        s->line = t.line;
        body.push_back(std::move(s));
        next();
      } else if (t.type == TokenType::VarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->line = t.line;
        s->column = t.column;
        s->expr = parse_expression();
        if (cur().type != TokenType::VarEnd) fail("expected end of print statement, got " + describe(cur()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        const Token& kw = peek();
        for (const char* stop : stops)
          if (kw.type == TokenType::Name && kw.text == stop) {
            next();
            return body;
          }
        next();
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(t));
      }
    }
    if (stops.size() > 0) {
      std::string wanted;
      for (const char* stop : stops) wanted += std::string(wanted.empty() ? "'" : " or '") + stop + "'";
      fail("unexpected end of template: a block is not closed (looking for " + wanted + ")");
    }
    return body;
  }

  // At the keyword after "{%".
  StmtPtr parse_statement() {
    const Token& kw = cur();
    if (kw.type != TokenType::Name) fail("expected a statement keyword, got " + describe(kw));
    auto s = std::make_unique<Stmt>();
    s->line = kw.line;
    s->column = kw.column;
    const std::string word = next().text;
    if (word == "if") {
      s->kind = StmtKind::If;
      ExprPtr cond = parse_expression();
      expect_block_end();
      while (true) {
        Body body = parse_body({"elif", "else", "endif"});
        s->branches.emplace_back(std::move(cond), std::move(body));
        const std::string which = next().text;
        if (which == "elif") {
          cond = parse_expression();
          expect_block_end();
          continue;
        }
        expect_block_end();
        if (which == "else") {
          s->else_body = parse_body({"endif"});
          next();
          expect_block_end();
        }
        break;
      }
    } else if (word == "for") {
      s->kind = StmtKind::For;
      s->targets.push_back(expect_name());
      while (is_op(",")) {
        next();
        s->targets.push_back(expect_name());
      }
      if (!is_name("in")) fail("expected 'in', got " + describe(cur()));
      next();
      s->expr = parse_or_expression();  // no inline if here: "if" starts the loop filter
      if (is_name("if")) {
        next();
        s->cond = parse_expression();
      }
      if (is_name("recursive")) fail("recursive loops are not supported");
      expect_block_end();
      s->body = parse_body({"else", "endfor"});
      if (next().text == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"});
        next();
      }
      expect_block_end();
    } else if (word == "set") {
      s->targets.push_back(expect_name());
      if (is_op(".")) {
        next();
        s->attr = expect_name();
      }
      while (is_op(",")) {
        next();
        s->targets.push_back(expect_name());
      }
      if (is_op("=")) {
        next();
        s->kind = StmtKind::Set;
        s->expr = parse_tuple_or_expression();
        expect_block_end();
      } else {
        s->kind = StmtKind::SetBlock;
        if (s->targets.size() != 1 || !s->attr.empty()) fail("a block set assigns one name");
        if (is_op("|")) s->filters = parse_filter_chain();
        expect_block_end();
        s->body = parse_body({"endset"});
        next();
        expect_block_end();
      }
    } else if (word == "macro" || word == "call") {
      s->kind = word == "macro" ? StmtKind::Macro : StmtKind::CallBlock;
      if (word == "macro") s->text = expect_name();
      if (is_op("(")) s->params = parse_params();
      if (word == "call") s->expr = parse_expression();
      expect_block_end();
      s->body = parse_body({word == "macro" ? "endmacro" : "endcall"});
      next();
      if (cur().type == TokenType::Name) next();  // {% endmacro name %}
      expect_block_end();
    } else if (word == "filter") {
      s->kind = StmtKind::FilterBlock;
      s->filters = parse_filter_chain(false);
      expect_block_end();
      s->body = parse_body({"endfilter"});
      next();
      expect_block_end();
    } else if (word == "generation") {
      s->kind = StmtKind::Generation;
      expect_block_end();
      s->body = parse_body({"endgeneration"});
      next();
      expect_block_end();
    } else if (word == "break" || word == "continue") {
      s->kind = word == "break" ? StmtKind::Break : StmtKind::Continue;
      expect_block_end();
    } else {
      fail_at("unknown statement '" + word + "'", kw);
    }
    return s;
  }

  std::vector<std::pair<std::string, ExprPtr>> parse_params() {
    std::vector<std::pair<std::string, ExprPtr>> params;
    expect_op("(");
    while (!is_op(")")) {
      std::string pname = expect_name();
      ExprPtr dflt;
      if (is_op("=")) {
        next();
        dflt = parse_expression();
      }
      params.emplace_back(std::move(pname), std::move(dflt));
      if (!is_op(")")) expect_op(",");
    }
    next();
    return params;
  }

  // "| name(args) | name ..." (the first "|" optional for {% filter %}).
  std::vector<ExprPtr> parse_filter_chain(bool leading_pipe = true) {
    std::vector<ExprPtr> chain;
    bool first = true;
    while ((first && !leading_pipe) || is_op("|")) {
      if (is_op("|")) next();
      first = false;
      auto f = node(ExprKind::Filter, cur());
      f->args.push_back(nullptr);
      f->name = expect_name();
      if (is_op("(")) parse_call_args(*f);
      chain.push_back(std::move(f));
    }
    return chain;
  }

  // ---- expressions ----
  ExprPtr parse_tuple_or_expression() {
    const Token& at = cur();
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    auto t = node(ExprKind::Tuple, at);
    t->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (cur().type == TokenType::BlockEnd || cur().type == TokenType::VarEnd) break;
      t->args.push_back(parse_expression());
    }
    return t;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this);
    ExprPtr value = parse_or_expression();
    while (is_name("if")) {
      const Token& at = next();
      auto c = node(ExprKind::Conditional, at);
      c->args.push_back(std::move(value));
      c->args.push_back(parse_or_expression());
      if (is_name("else")) {
        next();
        c->args.push_back(parse_expression());
      } else {
        c->args.push_back(nullptr);
      }
      value = std::move(c);
    }
    return value;
  }

  ExprPtr parse_or_expression() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto e = node(ExprKind::Or, next());
      e->args.push_back(std::move(left));
      e->args.push_back(parse_and());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto e = node(ExprKind::And, next());
      e->args.push_back(std::move(left));
      e->args.push_back(parse_not());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = node(ExprKind::Not, next());
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& at = cur();
    ExprPtr first = parse_math1();
    std::unique_ptr<Expr> chain;
    while (true) {
      std::string op;
      if (cur().type == TokenType::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().type == TokenType::Name && peek().text == "in") {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!chain) {
        chain = node(ExprKind::Compare, at);
        chain->args.push_back(std::move(first));
      }
      chain->ops.push_back(op);
      chain->args.push_back(parse_math1());
    }
    return chain ? std::move(chain) : std::move(first);
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr l, ExprPtr r) const {
    auto e = node(ExprKind::Binary, at);
    e->name = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = next();
      left = binary(at, at.text, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const Token& at = cur();
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = node(ExprKind::Concat, at);
    e->args.push_back(std::move(first));
    while (is_op("~")) {
      next();
      e->args.push_back(parse_math2());
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = next();
      left = binary(at, at.text, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& at = next();
      left = binary(at, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& at = next();
      e = node(at.text == "-" ? ExprKind::Negate : ExprKind::Plus, at);
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    return with_filter ? parse_filter_expr(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.type) {
      case TokenType::Name: {
        next();
        if (t.text == "true" || t.text == "True") return literal(t, Value::from(true));
        if (t.text == "false" || t.text == "False") return literal(t, Value::from(false));
        if (t.text == "none" || t.text == "None") return literal(t, Value::none());
        auto e = node(ExprKind::Name, t);
        e->name = t.text;
        return e;
      }
      case TokenType::String: {
        std::string s = next().text;
        while (cur().type == TokenType::String) s += next().text;  // adjacent literals join
        return literal(t, Value::from(std::move(s)));
      }
      case TokenType::Int: next(); return literal(t, Value::from(t.integer));
      case TokenType::Float: next(); return literal(t, Value::from(t.number));
      case TokenType::Op:
        if (t.text == "(") {
          next();
          if (is_op(")")) {
            next();
            return node(ExprKind::Tuple, t);
          }
          ExprPtr inner = parse_expression();
          if (is_op(",")) {
            auto tuple = node(ExprKind::Tuple, t);
            tuple->args.push_back(std::move(inner));
            while (is_op(",")) {
              next();
              if (is_op(")")) break;
              tuple->args.push_back(parse_expression());
            }
            inner = std::move(tuple);
          }
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          next();
          auto list = node(ExprKind::List, t);
          while (!is_op("]")) {
            list->args.push_back(parse_expression());
            if (!is_op("]")) expect_op(",");
          }
          next();
          return list;
        }
        if (t.text == "{") {
          next();
          auto dict = node(ExprKind::Dict, t);
          while (!is_op("}")) {
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
            if (!is_op("}")) expect_op(",");
          }
          next();
          return dict;
        }
        break;
      default: break;
    }
    fail("unexpected " + describe(t));
  }

  ExprPtr literal(const Token& at, Value v) const {
    auto e = node(ExprKind::Literal, at);
    e->literal = std::move(v);
    return e;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        const Token& at = next();
        auto g = node(ExprKind::GetAttr, at);
        if (cur().type == TokenType::Int) {  // foo.0 is foo[0]
          g->kind = ExprKind::GetItem;
          g->args.push_back(std::move(e));
          g->args.push_back(literal(cur(), Value::from(next().integer)));
        } else {
          g->name = expect_name();
          g->args.push_back(std::move(e));
        }
        e = std::move(g);
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target) {
    const Token& at = next();  // "["
    ExprPtr bounds[3];
    int part = 0;
    bool is_slice = false;
    while (!is_op("]")) {
      if (is_op(":")) {
        next();
        is_slice = true;
        if (++part > 2) fail("a slice has at most three parts");
        continue;
      }
      if (bounds[part]) fail("expected ':' or ']', got " + describe(cur()));
      bounds[part] = parse_expression();
    }
    next();
    if (!is_slice && !bounds[0]) fail_at("empty subscript", at);
    auto e = node(is_slice ? ExprKind::Slice : ExprKind::GetItem, at);
    e->args.push_back(std::move(target));
    e->args.push_back(std::move(bounds[0]));
    if (is_slice) {
      e->args.push_back(std::move(bounds[1]));
      e->args.push_back(std::move(bounds[2]));
    }
    return e;
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = node(ExprKind::Call, cur());
    e->args.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (cur().type == TokenType::Name && peek().type == TokenType::Op && peek().text == "=") {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!e.kwargs.empty()) fail("a positional argument follows a keyword argument");
        e.args.push_back(parse_expression());
      }
      if (!is_op(")")) expect_op(",");
    }
    next();
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        const Token& at = next();
        auto f = node(ExprKind::Filter, at);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = std::move(f);
      } else if (is_name("is")) {
        const Token& at = next();
        auto t = node(ExprKind::Test, at);
        if (is_name("not")) {
          next();
          t->negated = true;
        }
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((cur().type == TokenType::Name || cur().type == TokenType::String || cur().type == TokenType::Int ||
                    cur().type == TokenType::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail("you cannot chain multiple tests with is");
          t->args.push_back(parse_postfix(parse_primary()));  // "x is divisibleby 3"
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& toks_;
  const std::string& name_;
  const int max_depth_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& name, int max_depth) {
  return Parser(tokens, name, max_depth).run();
}

}  // namespace fw::data::jinja
