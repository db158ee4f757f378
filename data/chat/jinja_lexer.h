// Splits a Jinja template into text and tag tokens, with jinja2's whitespace rules as
// transformers configures them: trim_blocks (the newline after a block or comment tag is
// dropped), lstrip_blocks (spaces and tabs before a block or comment tag on its own line
// are dropped), `-` and `+` on tags, newlines normalised to "\n" and one trailing newline
// of the source dropped (keep_trailing_newline off).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fw::data::jinja {

enum class TokenType { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
  TokenType type = TokenType::End;
  std::string text;  // Text data, a name, an operator, a string's decoded value
  int64_t integer = 0;
  double number = 0;
  int line = 1;
  int column = 1;
};

// Throws fw::Error naming `name`, line and column for an unterminated tag, string or
// comment, or a character that starts no token.
std::vector<Token> tokenize(const std::string& source, const std::string& name);

}  // namespace fw::data::jinja
