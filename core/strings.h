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

}  // namespace fw
