// Builds the statement tree from the tokens, with jinja2's operator precedence. Throws
// fw::Error naming the template, line and column of the first syntax error; nesting
// deeper than `max_depth` (a hostile template's "((((((...") is refused the same way.
#pragma once

#include <string>
#include <vector>

#include "data/chat/jinja_ast.h"
#include "data/chat/jinja_lexer.h"

namespace fw::data::jinja {

Body parse(const std::vector<Token>& tokens, const std::string& name, int max_depth);

}  // namespace fw::data::jinja
