#include "arena/judge_parse.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <set>
#include <vector>

namespace fw::arena {
namespace {

// Lowercase, markdown emphasis and headings dropped, so "**Assistant A**:" reads "assistant a:".
std::string normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '`' || c == '#') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

const char* kNum = R"((\d+(?:\.\d+)?))";
const char* kOutOf = R"((?:\s*(?:/\s*10(?:\.0)?|out\s+of\s+10))?)";

// Label of each side; the side is 0 (first) or 1 (second).
const std::regex& label_regex() {
  static const std::regex re(
      R"(\b(?:(?:assistant|response|answer|model|output|ai)\s*(1|2|a|b|one|two)\b|(?:the\s+)?(first|second)\s+(?:assistant|response|answer|model|output)\b))");
  return re;
}

int side_of(const std::smatch& m) {
  const std::string id = m[1].matched ? m[1].str() : m[2].str();
  return (id == "1" || id == "a" || id == "one" || id == "first") ? 0 : 1;
}

// Words that may stand between a label and its score ("assistant 1's overall score is 8").
bool is_score_word(const std::string& w) {
  static const std::set<std::string> words = {
      "score", "scores", "scored", "rating", "ratings", "rated", "rate", "gets", "get", "got",
      "receives", "received", "receive", "deserves", "earns", "earned", "is", "was", "a", "an", "of",
      "overall", "final", "total", "its", "my", "as", "s", "would", "be", "will", "i"};
  return words.count(w) > 0;
}

// The number a label at `pos` introduces, reading forward over score words and
// punctuation; nullopt when anything else comes first.
std::optional<double> score_after(const std::string& s, size_t pos) {
  size_t i = pos;
  for (int words = 0; i < s.size() && words <= 6;) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c) || c == ':' || c == '-' || c == '=' || c == '(' || c == ')' || c == '\'' || c == ',' || c == '[') {
      ++i;
      continue;
    }
    if (std::isdigit(c)) break;
    if (!std::isalpha(c)) return std::nullopt;
    size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    if (!is_score_word(s.substr(i, j - i))) return std::nullopt;
    i = j;
    ++words;
  }
  if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  std::smatch m;
  const std::string rest = s.substr(i, 40);
  static const std::regex num_re(std::string("^") + kNum + kOutOf);
  if (!std::regex_search(rest, m, num_re)) return std::nullopt;
  // "3 + 5 = 8" is arithmetic, not a score.
  size_t k = static_cast<size_t>(m.length(0));
  while (k < rest.size() && rest[k] == ' ') ++k;
  if (k < rest.size() && std::string("+-*x=%").find(rest[k]) != std::string::npos &&
      !(rest[k] == '-' && k + 1 < rest.size() && rest[k + 1] == ' '))
    return std::nullopt;
  return std::stod(m[1].str());
}

struct Candidates {
  std::vector<double> side[2];
  void add(int s, double v) {
    if (std::find(side[s].begin(), side[s].end(), v) == side[s].end()) side[s].push_back(v);
  }
  bool any() const { return !side[0].empty() || !side[1].empty(); }
};

// Rule 2: labelled scores, forward ("assistant a: 8"), backward ("8/10 for assistant a")
// and by section ("response a\n...\nscore: 9").
Candidates labelled_scores(const std::string& s) {
  Candidates c;
  struct Label { size_t begin, end; int side; bool at_line_start; };
  std::vector<Label> labels;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), label_regex()); it != std::sregex_iterator(); ++it) {
    const size_t b = static_cast<size_t>(it->position(0));
    size_t k = b;
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t')) --k;
    labels.push_back({b, b + static_cast<size_t>(it->length(0)), side_of(*it), k == 0 || s[k - 1] == '\n'});
  }
  for (const Label& l : labels)
    if (auto v = score_after(s, l.end)) c.add(l.side, *v);

  static const std::regex before(std::string(kNum) + kOutOf + R"(\s*(?:points?\s+)?(?:to|for)\s+(?:the\s+)?$)");
  for (const Label& l : labels) {
    const size_t from = l.begin >= 30 ? l.begin - 30 : 0;
    const std::string head = s.substr(from, l.begin - from);
    std::smatch m;
    if (std::regex_search(head, m, before)) c.add(l.side, std::stod(m[1].str()));
  }

  static const std::regex section_score(R"((?:^|\n)[ \t-]*(?:overall\s+|final\s+)?(?:score|rating)\s*[:=]?\s*)" + std::string(kNum) + kOutOf);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!labels[i].at_line_start) continue;
    size_t end = s.size();
    for (size_t j = i + 1; j < labels.size(); ++j)
      if (labels[j].at_line_start) { end = labels[j].begin; break; }
    const std::string section = s.substr(labels[i].end, end - labels[i].end);
    std::smatch m;
    if (std::regex_search(section, m, section_score)) c.add(labels[i].side, std::stod(m[1].str()));
  }
  return c;
}

PairScores finish(std::optional<double> a, std::optional<double> b, double lo, double hi) {
  PairScores p;
  for (auto v : {a, b})
    if (v && (*v < lo || *v > hi)) {
      p.error = "score " + std::to_string(*v).substr(0, std::to_string(*v).find('.') + 2) + " is outside " +
                std::to_string(static_cast<int>(lo)) + ".." + std::to_string(static_cast<int>(hi));
      return p;
    }
  p.first = a;
  p.second = b;
  return p;
}

}  // namespace

PairScores parse_pair_scores(std::string_view judgment, double min_score, double max_score) {
  const std::string s = normalise(judgment);

  // 1. [[a, b]]
  static const std::regex bracket(std::string(R"(\[\[\s*)") + kNum + kOutOf + R"(\s*[,; ]\s*)" + kNum + kOutOf + R"(\s*\]\])");
  std::set<std::pair<double, double>> pairs;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), bracket); it != std::sregex_iterator(); ++it)
    pairs.insert({std::stod((*it)[1].str()), std::stod((*it)[2].str())});
  if (pairs.size() > 1) return {std::nullopt, std::nullopt, "two different [[score, score]] pairs"};
  if (pairs.size() == 1) return finish(pairs.begin()->first, pairs.begin()->second, min_score, max_score);

  // 2. a first line of exactly two numbers (what the default template asks for): it wins
  //    over numbers in the explanation that follows
  const size_t start = s.find_first_not_of(" \t\r\n");
  if (start != std::string::npos) {
    const size_t eol = s.find('\n', start);
    const std::string first_line = s.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
    static const std::regex two(std::string(R"(^\s*)") + kNum + kOutOf + R"(\s*(?:,|;|\s|and)\s*)" + kNum + kOutOf + R"(\s*\.?\s*$)");
    std::smatch m;
    if (std::regex_match(first_line, m, two)) return finish(std::stod(m[1].str()), std::stod(m[2].str()), min_score, max_score);
  }
  // 3. labelled scores
  const Candidates c = labelled_scores(s);
  if (c.any()) {
    for (int side = 0; side < 2; ++side) {
      const char* which = side == 0 ? "first" : "second";
      if (c.side[side].empty()) return {std::nullopt, std::nullopt, std::string("no score for the ") + which + " response"};
      if (c.side[side].size() > 1)
        return {std::nullopt, std::nullopt, std::string("two different scores for the ") + which + " response"};
    }
    return finish(c.side[0][0], c.side[1][0], min_score, max_score);
  }

  return {std::nullopt, std::nullopt, "no scores found"};
}

}  // namespace fw::arena
