// Small string helpers shared across modules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fw {

// Levenshtein distance (insert, delete, substitute each cost 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` by edit distance, or "" if none is close enough to be
// a plausible typo (distance > max(2, |word|/3)).
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// `s` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);

// Python's str.strip() on UTF-8 (what Jinja's |trim and .strip() do in chat templates):
// the white space code points of str.isspace at both ends; python_space_at gives the
// length of the one starting at s[pos], 0 if none.
std::string python_strip(std::string_view s);
size_t python_space_at(std::string_view s, size_t pos);

}  // namespace fw
