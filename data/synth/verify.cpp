#include "data/synth/verify.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <system_error>

#include "core/strings.h"

namespace fw::synth {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

// Markdown emphasis, code and math delimiters out; unicode minus and quotes to ASCII.
std::string normalise(std::string_view response) {
  std::string s(response);
  replace_all(s, "\xE2\x88\x92", "-");   // U+2212 minus
  replace_all(s, "\xE2\x80\x9C", "\"");  // U+201C
  replace_all(s, "\xE2\x80\x9D", "\"");  // U+201D
  replace_all(s, "\xE2\x80\x98", "'");   // U+2018
  replace_all(s, "\xE2\x80\x99", "'");   // U+2019
  replace_all(s, "**", "");
  replace_all(s, "__", "");
  std::string out;
  for (char c : s) {
    if (c == '$') continue;
    out += c == '`' ? '"' : c;
  }
  return out;
}

// ---- numbers ---------------------------------------------------------------------------

struct Num {
  double value = 0;
  std::string text;  // as written, sign included, thousands separators dropped
};

// Integers and decimals in `s`, in order. A '-' directly before the digits is a sign
// unless it follows a letter, digit or ')' ("10-5" is two numbers, "= -5" one).
// `thousands`: "1,234" is one number (three-digit groups, no space after the comma).
std::vector<Num> parse_numbers(std::string_view s, bool thousands) {
  std::vector<Num> out;
  size_t i = 0;
  while (i < s.size()) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    const bool neg = i > 0 && s[i - 1] == '-' && (i < 2 || !(is_alnum(s[i - 2]) || s[i - 2] == ')'));
    std::string digits;
    while (i < s.size() && is_digit(s[i])) digits += s[i++];
    if (thousands && digits.size() <= 3) {
      while (i + 3 < s.size() && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
             (i + 4 >= s.size() || !is_digit(s[i + 4]))) {
        digits.append(s.substr(i + 1, 3));
        i += 4;
      }
    }
    if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
      digits += '.';
      ++i;
      while (i < s.size() && is_digit(s[i])) digits += s[i++];
    }
    Num n;
    // Too many digits for a double: infinity, so it can never equal a reference.
    if (std::from_chars(digits.data(), digits.data() + digits.size(), n.value).ec != std::errc())
      n.value = HUGE_VAL;
    if (neg) n.value = -n.value;
    // Canonical text: no leading zeros, no trailing ".0".
    if (n.value == std::floor(n.value) && std::fabs(n.value) < 1e15) {
      n.text = std::to_string(static_cast<long long>(n.value));
    } else {
      n.text = (neg ? "-" : "") + digits;
    }
    out.push_back(std::move(n));
  }
  return out;
}

size_t count_distinct(const std::vector<Num>& nums) {
  std::set<double> s;
  for (const auto& n : nums) s.insert(n.value);
  return s.size();
}

// ---- words -----------------------------------------------------------------------------

// Words that frame an answer rather than being one. None of the task words is here.
const std::set<std::string>& fillers() {
  static const std::set<std::string> kFillers = {
      "the", "a", "an", "letter", "letters", "word", "words", "it", "is", "its", "s", "answer", "final",
      "result", "reversed", "reverse", "backwards", "backward", "uppercase", "upper", "lowercase", "lower",
      "case", "capital", "capitals", "capitalized", "in", "of", "so", "that", "this", "which", "string",
      "spelled", "spelt", "here", "sorted", "alphabetically", "alphabetical", "order", "gives", "becomes",
      "would", "be", "will", "i", "think", "my", "we", "get", "gets", "got", "and", "or", "to", "as",
      "now", "first", "last", "starts", "start", "with", "begins", "ends", "you", "ok", "okay", "sure",
      "then", "thus", "therefore", "characters", "character", "written", "write", "reads", "read", "are",
      "was", "makes", "equals", "yes", "well", "when", "form", "version", "out", "just", "simply",
      "correct", "it's", "that's", "here's", "i'm", "i'd", "let's", "what's", "there's"};
  return kFillers;
}

bool is_filler(const std::string& w) { return fillers().count(lower(w)) > 0; }

// Runs of letters; an apostrophe between letters stays inside the word ("it's").
std::vector<std::string> alpha_tokens(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (!is_alpha(s[i])) {
      ++i;
      continue;
    }
    size_t b = i;
    while (i < s.size() && (is_alpha(s[i]) || (s[i] == '\'' && i + 1 < s.size() && is_alpha(s[i + 1])))) ++i;
    out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

// The one distinct single letter among `toks` ("the letter c"); "a" and "I" count only
// when no other letter is there (they are usually words). "" if none or several.
std::string single_letter(const std::vector<std::string>& toks) {
  std::vector<std::string> letters;
  for (const auto& t : toks)
    if (t.size() == 1) letters.push_back(t);
  auto distinct = [](const std::vector<std::string>& xs) {
    std::set<std::string> d;
    for (const auto& x : xs) d.insert(lower(x));
    return d.size();
  };
  if (distinct(letters) > 1)
    letters.erase(std::remove_if(letters.begin(), letters.end(), [](const std::string& t) { return t == "a" || t == "I"; }),
                  letters.end());
  if (letters.empty() || distinct(letters) != 1) return "";
  return letters.back();
}

// Contents of "double-quoted" spans, and of 'single-quoted' spans whose quotes stand
// outside words (so "it's" and "a's" quote nothing).
std::vector<std::string> quoted_spans(std::string_view s) {
  std::vector<std::pair<size_t, std::string>> found;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '"') continue;
    size_t j = s.find('"', i + 1);
    if (j == std::string_view::npos) break;
    found.emplace_back(i, std::string(s.substr(i + 1, j - i - 1)));
    i = j;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\'' || (i > 0 && is_alnum(s[i - 1]))) continue;
    size_t j = i + 1;
    while (j < s.size() && is_alpha(s[j])) ++j;
    if (j > i + 1 && j < s.size() && s[j] == '\'' && (j + 1 >= s.size() || !is_alnum(s[j + 1]))) {
      found.emplace_back(i, std::string(s.substr(i + 1, j - i - 1)));
      i = j;
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [pos, text] : found) out.emplace_back(trim(text));
  return out;
}

bool has_word(const std::vector<std::string>& tokens, std::initializer_list<const char*> words) {
  for (const auto& t : tokens)
    for (const char* w : words)
      if (lower(t) == w) return true;
  return false;
}

// Hedging: "8 or 9", "between 7 and 9", "7/8", "maybe 9".
bool hedges(std::string_view sentence) {
  if (sentence.find('/') != std::string_view::npos) return true;
  return has_word(alpha_tokens(sentence), {"or", "either", "between", "maybe", "possibly", "perhaps"});
}

std::string strip_parens(std::string_view s) {
  std::string out;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (depth == 0) out += c;
  }
  return out;
}

std::string after_last_eq(std::string_view s) {
  size_t p = s.rfind('=');
  return std::string(p == std::string_view::npos ? s : s.substr(p + 1));
}

// ---- extraction ------------------------------------------------------------------------

enum class Status { None, Ambiguous, Found };

struct Answer {
  Status status = Status::None;
  std::vector<Num> numbers;  // Number: one; List: all
  std::string text;          // Text: the word or phrase
};

Answer found_numbers(std::vector<Num> nums) { return {Status::Found, std::move(nums), ""}; }
Answer found_text(std::string text) { return {Status::Found, {}, std::move(text)}; }
Answer ambiguous() { return {Status::Ambiguous, {}, ""}; }

// The sentence starting at `pos` (after whitespace), ending before . ! ? ; or a newline.
// `question` says whether it ended with '?'.
std::string sentence_at(std::string_view s, size_t pos, bool& question) {
  while (pos < s.size() && is_space(s[pos])) ++pos;
  size_t e = pos;
  question = false;
  for (; e < s.size(); ++e) {
    const char c = s[e];
    if (c == '\n' || c == '!' || c == ';') break;
    if (c == '?') {
      question = true;
      break;
    }
    if (c == '.' && !(e > 0 && is_digit(s[e - 1]) && e + 1 < s.size() && is_digit(s[e + 1]))) break;
  }
  return std::string(s.substr(pos, e - pos));
}

Answer read_number(const std::string& sentence) {
  const std::string tail = after_last_eq(sentence);
  std::vector<Num> all = parse_numbers(tail, true);
  if (all.empty()) return {};
  if (count_distinct(all) > 1 && hedges(tail)) return ambiguous();
  std::vector<Num> nums = parse_numbers(strip_parens(tail), true);
  if (nums.empty()) nums = all;
  return found_numbers({nums.front()});
}

Answer read_list(const std::string& sentence) {
  const std::string tail = after_last_eq(sentence);
  std::vector<Num> all = parse_numbers(tail, false);
  if (all.empty()) return {};
  if (hedges(tail)) return ambiguous();
  std::vector<Num> nums = parse_numbers(strip_parens(tail), false);
  return found_numbers(nums.empty() ? all : nums);
}

bool multiword(std::string_view reference) { return trim(reference).find(' ') != std::string::npos; }

// A phrase answer (a reference with spaces): the text, quotes and trailing marks trimmed.
std::string clean_phrase(std::string_view s) {
  std::string t(trim(s));
  while (!t.empty() && (t.back() == '.' || t.back() == ',' || t.back() == '"' || t.back() == '\'' || t.back() == '}'))
    t.pop_back();
  while (!t.empty() && (t.front() == '"' || t.front() == '\'' || t.front() == ':')) t.erase(t.begin());
  std::string out;
  for (char c : trim(t)) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Answer read_text(const std::string& sentence, bool phrase, bool letter) {
  if (phrase) {
    std::string p = clean_phrase(sentence);
    if (p.empty()) return {};
    return found_text(p);
  }
  for (const auto& q : quoted_spans(sentence)) {
    auto toks = alpha_tokens(q);
    if (toks.size() == 1) return found_text(toks[0]);
  }
  auto toks = alpha_tokens(sentence);
  const bool hedged = has_word(toks, {"or", "either", "maybe", "possibly", "perhaps"});
  if (letter) {
    // A one-letter answer: the first single letter ("The answer is the letter a").
    std::set<std::string> letters;
    for (const auto& t : toks)
      if (t.size() == 1) letters.insert(lower(t));
    if (hedged && letters.size() > 1) return ambiguous();
    for (const auto& t : toks)
      if (t.size() == 1) return found_text(t);
  }
  std::vector<std::string> content;
  for (const auto& t : toks)
    if (!is_filler(t)) content.push_back(t);
  if (content.empty()) {
    if (toks.size() == 1) return found_text(toks[0]);
    return {};
  }
  if (hedged) {
    std::set<std::string> distinct;
    for (const auto& t : content) distinct.insert(lower(t));
    if (distinct.size() > 1) return ambiguous();
  }
  return found_text(content.front());
}

// How to read a Text answer: a phrase (reference with spaces), a single letter, a word.
struct TextMode {
  bool phrase = false;
  bool letter = false;
};

Answer read_sentence(AnswerKind kind, const std::string& sentence, TextMode mode) {
  switch (kind) {
    case AnswerKind::Number: return read_number(sentence);
    case AnswerKind::List: return read_list(sentence);
    default: return read_text(sentence, mode.phrase, mode.letter);
  }
}

struct Marker {
  size_t begin, end;
};

// Occurrences of `markers` in `lower_text`, latest end first. Markers that start or end
// with a letter must not be glued to a neighbouring letter.
std::vector<Marker> find_markers(const std::string& lower_text, std::initializer_list<const char*> markers) {
  std::vector<Marker> out;
  for (const char* m : markers) {
    const std::string_view mv(m);
    for (size_t p = lower_text.find(mv); p != std::string::npos; p = lower_text.find(mv, p + 1)) {
      const size_t e = p + mv.size();
      if (is_alpha(mv.front()) && p > 0 && is_alpha(lower_text[p - 1])) continue;
      if (is_alpha(mv.back()) && e < lower_text.size() && is_alpha(lower_text[e])) continue;
      out.push_back({p, e});
    }
  }
  std::sort(out.begin(), out.end(), [](const Marker& a, const Marker& b) {
    return a.end != b.end ? a.end > b.end : a.begin < b.begin;
  });
  return out;
}

Answer read_after_markers(AnswerKind kind, const std::string& text, const std::vector<Marker>& markers, TextMode mode) {
  for (const auto& m : markers) {
    bool question = false;
    const std::string sentence = sentence_at(text, m.end, question);
    if (question) continue;  // "What is 3 + 5?" asks, it does not answer
    Answer a = read_sentence(kind, sentence, mode);
    if (a.status != Status::None) return a;
  }
  return {};
}

Answer read_unmarked(AnswerKind kind, const std::string& text, std::string_view prompt, TextMode mode) {
  if (kind == AnswerKind::Number) {
    std::vector<Num> nums = parse_numbers(text, true);
    if (nums.empty()) return {};
    std::set<double> in_prompt;
    for (const auto& n : parse_numbers(prompt, true)) in_prompt.insert(n.value);
    std::vector<Num> fresh;
    std::set<double> fresh_values;
    for (const auto& n : nums)
      if (!in_prompt.count(n.value)) {
        fresh.push_back(n);
        fresh_values.insert(n.value);
      }
    if (fresh_values.size() == 1) return found_numbers({fresh.back()});
    if (fresh_values.empty() && count_distinct(nums) == 1) return found_numbers({nums.back()});
    return ambiguous();
  }
  if (kind == AnswerKind::List) {
    size_t close = text.rfind(']');
    if (close != std::string::npos) {
      size_t open = text.rfind('[', close);
      if (open != std::string::npos) {
        auto nums = parse_numbers(std::string_view(text).substr(open + 1, close - open - 1), false);
        if (!nums.empty()) return found_numbers(nums);
      }
    }
    for (const auto& line_raw : [&] {
           auto lines = split(text, '\n');
           std::reverse(lines.begin(), lines.end());
           return lines;
         }()) {
      auto nums = parse_numbers(line_raw, false);
      if (!nums.empty()) return found_numbers(nums);
    }
    return {};
  }
  if (mode.phrase) {
    auto lines = split(text, '\n');
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      std::string p = clean_phrase(*it);
      if (!p.empty()) return found_text(p);
    }
    return {};
  }
  auto quotes = quoted_spans(text);
  for (auto it = quotes.rbegin(); it != quotes.rend(); ++it) {
    auto toks = alpha_tokens(*it);
    if (toks.size() == 1) return found_text(toks[0]);
  }
  std::set<std::string> prompt_words;
  for (const auto& w : alpha_tokens(prompt)) prompt_words.insert(lower(w));
  auto toks = alpha_tokens(text);
  if (toks.empty()) return {};
  if (mode.letter) {
    std::string l = single_letter(toks);
    if (!l.empty()) return found_text(l);
  }
  std::set<std::string> distinct;
  std::string last;
  for (const auto& t : toks)
    if (!is_filler(t) && !prompt_words.count(lower(t))) {
      distinct.insert(lower(t));
      last = t;
    }
  if (distinct.size() == 1) return found_text(last);
  if (distinct.empty() && toks.size() == 1) return found_text(toks[0]);
  return ambiguous();
}

Answer extract(AnswerKind kind, const std::string& text, std::string_view prompt, TextMode mode) {
  const std::string low = lower(text);
  static const auto strong = {"answer is",      "answer:",  "answer =",  "answer would be",
                              "answer will be", "answer's", "final answer", "result is",
                              "result:",        "boxed{"};
  Answer a = read_after_markers(kind, text, find_markers(low, strong), mode);
  if (a.status != Status::None) return a;
  static const auto weak = {"=",  "equals", "is",  "are", "gives", "makes", "becomes",
                            "get", "gets",  "got", ":",   "->",    "=>"};
  a = read_after_markers(kind, text, find_markers(low, weak), mode);
  if (a.status != Status::None) return a;
  return read_unmarked(kind, text, prompt, mode);
}

// ---- scoring ---------------------------------------------------------------------------

Verdict make(int score, std::string extracted, std::string rule) {
  return {score, score == 10, std::move(extracted), std::move(rule)};
}

std::string list_text(const std::vector<Num>& nums) {
  std::string out;
  for (size_t i = 0; i < nums.size(); ++i) out += (i ? ", " : "") + nums[i].text;
  return out;
}

size_t sequence_edit_distance(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Verdict score_number(double ref, const Num& got) {
  const double x = got.value;
  if (x == ref) return make(10, got.text, "exact");
  const double diff = std::fabs(x - ref);
  const double rel = diff / std::max(std::fabs(ref), 1e-12);
  if (diff <= 1.0) return make(6, got.text, "off_by_one");
  if (rel <= 0.01) return make(6, got.text, "near_1pct");
  if (rel <= 0.10) return make(4, got.text, "near_10pct");
  return make(2, got.text, "wrong");
}

Verdict score_list(const std::vector<double>& ref, const std::vector<Num>& got) {
  std::vector<double> g;
  for (const auto& n : got) g.push_back(n.value);
  const std::string text = list_text(got);
  if (g == ref) return make(10, text, "exact");
  if (ref.size() >= 3 && sequence_edit_distance(g, ref) == 1) return make(5, text, "one_element_off");
  std::vector<double> a = g, b = ref;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a == b) return make(4, text, "permutation");
  return make(2, text, "wrong");
}

Verdict score_text(const std::string& ref, const std::string& got) {
  bool case_sensitive = false;
  for (char c : ref) case_sensitive |= (c >= 'A' && c <= 'Z');
  const std::string lr = lower(ref), lg = lower(got);
  if (case_sensitive ? got == ref : lg == lr) return make(10, got, "exact");
  if (lg == lr) return make(6, got, "wrong_case");
  const size_t d = edit_distance(lg, lr);
  if ((d == 1 && lr.size() >= 3) || (d == 2 && lr.size() >= 6)) return make(4, got, "edit_distance");
  std::string a = lg, b = lr;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (lr.size() >= 3 && a == b) return make(3, got, "anagram");
  return make(2, got, "wrong");
}

}  // namespace

AnswerKind answer_kind(std::string_view reference) {
  const std::string r(trim(reference));
  // Number: [+-]digits[.digits]
  {
    size_t i = 0;
    if (i < r.size() && (r[i] == '-' || r[i] == '+')) ++i;
    size_t d = i;
    while (i < r.size() && is_digit(r[i])) ++i;
    bool ok = i > d;
    if (ok && i < r.size() && r[i] == '.') {
      size_t f = ++i;
      while (i < r.size() && is_digit(r[i])) ++i;
      ok = i > f;
    }
    if (ok && i == r.size()) return AnswerKind::Number;
  }
  // List: integers separated by commas (spaces allowed around them), two or more.
  {
    auto parts = split(r, ',');
    bool ok = parts.size() >= 2;
    for (const auto& p : parts) {
      const std::string t(trim(p));
      size_t i = (!t.empty() && t[0] == '-') ? 1 : 0;
      if (i >= t.size()) ok = false;
      for (; i < t.size(); ++i) ok &= is_digit(t[i]);
    }
    if (ok) return AnswerKind::List;
  }
  return AnswerKind::Text;
}

const char* answer_kind_name(AnswerKind kind) {
  switch (kind) {
    case AnswerKind::Number: return "number";
    case AnswerKind::List: return "list";
    default: return "text";
  }
}

Verdict verify_answer(std::string_view reference, std::string_view response, std::string_view prompt) {
  const std::string text = normalise(response);
  if (trim(text).empty()) return make(1, "", "empty");
  const AnswerKind kind = answer_kind(reference);
  const bool phrase = kind == AnswerKind::Text && multiword(reference);
  const TextMode mode{phrase, kind == AnswerKind::Text && trim(reference).size() == 1};
  const Answer a = extract(kind, text, prompt, mode);
  if (a.status == Status::Ambiguous) return make(1, "", "ambiguous");
  if (a.status == Status::None) return make(1, "", "no_answer");
  switch (kind) {
    case AnswerKind::Number: {
      const auto ref = parse_numbers(trim(reference), false);
      return score_number(ref.front().value, a.numbers.front());
    }
    case AnswerKind::List: {
      std::vector<double> ref;
      for (const auto& n : parse_numbers(reference, false)) ref.push_back(n.value);
      return score_list(ref, a.numbers);
    }
    default:
      return score_text(phrase ? clean_phrase(reference) : std::string(trim(reference)), a.text);
  }
}

std::string prompt_text(const Task& task) {
  std::string out;
  for (const auto& m : task.messages) out += m.content + "\n";
  return out;
}

Verdict verify(const Task& task, std::string_view response) {
  return verify_answer(task.reference, response, prompt_text(task));
}

namespace {

std::string perturb_once(const std::string& ref, Rng& rng, bool near) {
  switch (answer_kind(ref)) {
    case AnswerKind::Number: {
      const double r = parse_numbers(ref, false).front().value;
      const long long v = std::llround(r);
      if (near) return std::to_string(v + (rng.bernoulli(0.5) ? 1 : -1));
      const long long off = std::max<long long>(2, static_cast<long long>(std::ceil(0.15 * std::fabs(r)))) +
                            rng.uniform_int(0, 10);
      return std::to_string(v >= 0 && (v - off < 0 || rng.bernoulli(0.5)) ? v + off : v - off);
    }
    case AnswerKind::List: {
      std::vector<long long> xs;
      for (const auto& n : parse_numbers(ref, false)) xs.push_back(std::llround(n.value));
      if (near) {
        const size_t i = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(xs.size()) - 2));
        if (rng.bernoulli(0.5) && xs[i] != xs[i + 1]) std::swap(xs[i], xs[i + 1]);
        else xs[i] += rng.bernoulli(0.5) ? 1 : -1;
      } else {
        std::set<long long> used(xs.begin(), xs.end());
        for (auto& x : xs) {
          long long y;
          do y = rng.uniform_int(0, 99);
          while (used.count(y));
          x = y;
        }
      }
      std::string out;
      for (size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + std::to_string(xs[i]);
      return out;
    }
    default: {
      std::string w(trim(ref));
      bool has_upper = false;
      for (char c : w) has_upper |= (c >= 'A' && c <= 'Z');
      auto random_letter = [&](char like) {
        char c = static_cast<char>('a' + rng.uniform_int(0, 25));
        return (like >= 'A' && like <= 'Z') ? static_cast<char>(c - 'a' + 'A') : c;
      };
      if (w.size() < 3 || !near) {
        // Far: every letter replaced (a one-letter answer can only be far).
        std::string out = w;
        for (char& c : out)
          if (is_alpha(c)) c = random_letter(c);
        return out;
      }
      switch (rng.uniform_int(0, has_upper ? 2 : 1)) {
        case 0: w.erase(static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(w.size()) - 1)), 1); return w;
        case 1: {
          const size_t i = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(w.size()) - 2));
          std::swap(w[i], w[i + 1]);
          return w;
        }
        default: return lower(w);
      }
    }
  }
}

}  // namespace

std::string perturb_answer(const std::string& reference, Rng& rng, bool near) {
  // Draw until the candidate lands in the intended band (a swap of equal letters, or
  // random letters that happen to be close, are drawn again).
  std::string candidate;
  for (int attempt = 0; attempt < 100; ++attempt) {
    candidate = perturb_once(reference, rng, near);
    const int s = verify_answer(reference, candidate).score;
    const bool single_letter = answer_kind(reference) == AnswerKind::Text && trim(reference).size() == 1;
    if (near && !single_letter ? (s >= 3 && s <= 6) : s == 2) return candidate;
  }
  return candidate;
}

}  // namespace fw::synth
