#include "data/chat/jinja_lexer.h"

#include <cstring>

#include "core/error.h"
#include "data/chat/jinja_pystr.h"

namespace fw::data::jinja {

namespace {

// Two-character operators first, so that "**" is not read as two "*".
const char* const kOperators[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "<", ">",
                                  "=", ".", ",", ":", "|", "~", "(", ")", "[", "]", "{", "}"};

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// jinja2 normalises every newline sequence of the source to "\n" and, with
// keep_trailing_newline off, drops one newline at its very end.
std::string normalize(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& name) : src_(normalize(source)), name_(name) {}

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emit_text(text, pos_);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char control = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (control == '-') {
        size_t keep = text.size();
        while (keep > 0 && is_ws(text[keep - 1])) --keep;
        text.resize(keep);
      } else if (control != '+' && kind != '{') {
        // lstrip_blocks: only whitespace between the line's start and the tag goes.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            text.find_first_not_of(" \t\f\v\r", l_pos) == std::string::npos)
          text.resize(l_pos);
      }
      emit_text(text, pos_);
      pos_ = tag + 2 + ((control == '-' || control == '+') ? 1 : 0);
      if (kind == '#') {
        skip_comment(tag);
      } else {
        lex_tag(kind == '{', tag);
      }
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    tokens_.push_back(make(TokenType::End, "", src_.size()));
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1))
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
    return src_.size();
  }

  // Line and column of byte `at`. Tokens come in source order, so the scan resumes from
  // the previous answer (linear in the template, not quadratic).
  void position_of(size_t at, int& line, int& column) const {
    if (at < scan_at_) scan_at_ = 0, scan_line_ = 1, scan_line_start_ = 0;
    for (; scan_at_ < at && scan_at_ < src_.size(); ++scan_at_)
      if (src_[scan_at_] == '\n') ++scan_line_, scan_line_start_ = scan_at_ + 1;
    line = scan_line_;
    column = static_cast<int>(at - scan_line_start_) + 1;
  }

  Token make(TokenType type, std::string text, size_t at) const {
    Token t;
    t.type = type;
    t.text = std::move(text);
    position_of(at, t.line, t.column);
    return t;
  }

  [[noreturn]] void fail(const std::string& message, size_t at) const {
    int line = 0, column = 0;
    position_of(at, line, column);
    throw_invalid("template syntax error: " + message, {.file = name_, .line = line, .column = column});
  }

  void emit_text(const std::string& text, size_t at) {
    if (!text.empty()) tokens_.push_back(make(TokenType::Text, text, at));
  }

  // After a tag's end: `-` strips all following whitespace; otherwise trim_blocks drops
  // one newline after a block or comment (not after `+`, not after {{ }}).
  void after_tag_end(char control, bool is_block) {
    if (control == '-') {
      while (pos_ < src_.size() && is_ws(src_[pos_])) ++pos_;
    } else if (control != '+' && is_block && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
  }

  void skip_comment(size_t start) {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail("the comment is not closed", start);
    const char control = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    pos_ = end + 2;
    after_tag_end(control, true);
  }

  void lex_tag(bool variable, size_t start) {
    tokens_.push_back(make(variable ? TokenType::VarBegin : TokenType::BlockBegin, "", start));
    const char close = variable ? '}' : '%';
    int depth = 0;  // brackets open inside the tag: "}}" inside a dict literal does not end it
    while (true) {
      while (pos_ < src_.size() && is_ws(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) fail(variable ? "'{{' is not closed" : "'{%' is not closed", start);
      char control = '\0';
      size_t p = pos_;
      if (depth == 0 && (src_[p] == '-' || src_[p] == '+') && p + 2 < src_.size() + 0 && src_[p + 1] == close &&
          src_[p + 2] == '}')
        control = src_[p++];
      if (depth == 0 && p + 1 < src_.size() && src_[p] == close && src_[p + 1] == '}') {
        tokens_.push_back(make(variable ? TokenType::VarEnd : TokenType::BlockEnd, "", pos_));
        pos_ = p + 2;
        after_tag_end(control, !variable);
        return;
      }
      lex_one(depth);
    }
  }

  void lex_one(int& depth) {
    const size_t at = pos_;
    const char c = src_[pos_];
    if (is_name_start(c)) {
      size_t e = pos_;
      while (e < src_.size() && (is_name_start(src_[e]) || is_digit(src_[e]))) ++e;
      tokens_.push_back(make(TokenType::Name, src_.substr(pos_, e - pos_), at));
      pos_ = e;
    } else if (is_digit(c)) {
      lex_number();
    } else if (c == '\'' || c == '"') {
      lex_string();
    } else {
      for (const char* op : kOperators) {
        const size_t n = std::strlen(op);
        if (src_.compare(pos_, n, op) != 0) continue;
        if (n == 1 && (c == '(' || c == '[' || c == '{')) ++depth;
        if (n == 1 && (c == ')' || c == ']' || c == '}')) --depth;
        tokens_.push_back(make(TokenType::Op, op, at));
        pos_ += n;
        return;
      }
      fail(std::string("unexpected character '") + c + "'", at);
    }
  }

  void lex_number() {
    const size_t at = pos_;
    size_t e = pos_;
    std::string digits;
    auto take_digits = [&] {
      while (e < src_.size() && (is_digit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && is_digit(src_[e + 1]))))
        if (src_[e++] != '_') digits += src_[e - 1];
    };
    take_digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
      is_float = true;
      digits += src_[e++];
      take_digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t k = e + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        digits += 'e';
        digits += src_.substr(e + 1, k - e - 1);
        e = k;
        take_digits();
      }
    }
    Token t = make(is_float ? TokenType::Float : TokenType::Int, digits, at);
    try {
      if (is_float) t.number = std::stod(digits);
      else t.integer = std::stoll(digits);
    } catch (const std::exception&) {
      fail("the number " + digits + " is out of range", at);
    }
    tokens_.push_back(std::move(t));
    pos_ = e;
  }

  // A Python string literal's escapes (jinja2 decodes with "unicode-escape").
  void lex_string() {
    const size_t at = pos_;
    const char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail("the string is not closed", at);
      char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= src_.size()) fail("the string is not closed", at);
      char e = src_[pos_++];
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;  // a backslash-newline continues the line
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + n > src_.size()) fail("a truncated \\" + std::string(1, e) + " escape", at);
          uint32_t cp = static_cast<uint32_t>(std::stoul(src_.substr(pos_, n), nullptr, 16));
          py::append_utf8(value, cp);
          pos_ += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            py::append_utf8(value, cp);
          } else {  // unknown escapes stay as written
            value += '\\';
            value += e;
          }
      }
    }
    tokens_.push_back(make(TokenType::String, value, at));
  }

  std::string src_;
  const std::string& name_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
  mutable size_t scan_at_ = 0, scan_line_start_ = 0;
  mutable int scan_line_ = 1;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const std::string& name) { return Lexer(source, name).run(); }

}  // namespace fw::data::jinja
