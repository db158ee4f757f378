#include "data/synth/tasks.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "core/rng.h"

namespace fw::synth {
namespace {

using Strings = std::vector<std::string>;
using Ints = std::vector<int64_t>;

// Words: lowercase, no palindromes, none of the verifier's filler words (verify.cpp).
const Strings kWords3 = {"cat", "dog", "sun", "box", "red", "hat", "pen", "cup", "map", "bus", "fox",
                         "egg", "ice", "jam", "key", "owl", "pig", "rat", "toy", "van", "web", "yak",
                         "zip", "ant", "bed", "bag", "car", "cow", "fan", "gem", "hen", "ink", "jar",
                         "kid", "log", "mud", "net", "nut", "pot", "ray", "sky", "tub"};
const Strings kWords4 = {"fish", "bird", "tree", "frog", "lamp", "moon", "star", "rain", "snow", "ship",
                         "book", "cake", "door", "fire", "gold", "hand", "kite", "leaf", "milk", "nest",
                         "rock", "sand", "wind", "wolf", "bell", "coat", "drum", "duck", "farm", "goat",
                         "hill", "king", "lion", "road", "salt", "seed", "sock", "tent"};
const Strings kWords5 = {"apple", "bread", "chair", "cloud", "dance", "eagle", "flame", "grape", "horse",
                         "juice", "lemon", "mango", "night", "ocean", "piano", "queen", "river", "stone",
                         "tiger", "water", "beach", "candy", "dream", "field", "ghost", "honey", "knife",
                         "light", "money", "plant"};
const Strings kWords6 = {"banana", "castle", "dragon", "forest", "garden", "guitar", "hammer", "island",
                         "jungle", "ladder", "market", "orange", "pencil", "rabbit", "silver", "turtle",
                         "window", "yellow", "basket", "button", "carpet", "flower", "mirror", "planet",
                         "rocket", "spider"};
const Strings kWords7 = {"balloon", "blanket", "chicken", "diamond", "dolphin", "giraffe", "kitchen",
                         "lantern", "monster", "octopus", "penguin", "pyramid", "rainbow", "sparrow",
                         "teacher", "whistle", "cabbage", "captain", "feather", "machine"};
const Strings kFruits = {"apple", "pear", "fig", "plum", "kiwi", "lime", "peach", "grape", "melon", "berry"};

// Phrasings. {0}, {1} are filled in by fill().
const Strings kArith = {"What is {0}?", "Compute {0}.", "Calculate {0}.", "What is the value of {0}?"};
const Strings kFirst = {"What is the first letter of {0}?", "What is the first letter of the word {0}?",
                        "Give the first letter of {0}."};
const Strings kLast = {"What is the last letter of {0}?", "What is the last letter of the word {0}?",
                       "Give the last letter of {0}."};
const Strings kReverse = {"Reverse the word {0}.", "Spell {0} backwards.", "What is {0} reversed?"};
const Strings kUpper = {"Write {0} in uppercase.", "Convert {0} to uppercase.", "What is {0} in capital letters?"};
const Strings kSortLetters = {"Sort the letters of {0} alphabetically.", "Put the letters of {0} in alphabetical order."};
const Strings kReverseUpper = {"Reverse {0} and write it in uppercase.", "Spell {0} backwards in capital letters."};
const Strings kMax = {"What is the largest of {0}?", "Which is the biggest number: {0}?", "Find the maximum of {0}."};
const Strings kMin = {"What is the smallest of {0}?", "Which is the smallest number: {0}?", "Find the minimum of {0}."};
const Strings kSum = {"What is the sum of {0}?", "Add up {0}.", "Find the total of {0}."};
const Strings kSortAsc = {"Sort {0} from smallest to largest.", "Sort in ascending order: {0}.",
                          "Put {0} in increasing order."};
const Strings kSortDesc = {"Sort {0} from largest to smallest.", "Sort in descending order: {0}.",
                           "Put {0} in decreasing order."};
const Strings kReverseList = {"Reverse the list {0}.", "Write {0} in reverse order."};
const Strings kLength = {"How many letters are in the word {0}?", "How many letters does {0} have?",
                         "Count the letters in {0}."};
const Strings kItems = {"How many items are in: {0}?", "Count the items: {0}.", "How many fruits: {0}?"};
const Strings kLetterCount = {"How many times does the letter {1} appear in {0}?", "Count the letter {1} in {0}.",
                              "How often does {1} occur in {0}?"};
const Strings kPhraseCount = {"How many times does the letter {1} appear in the phrase {0}?",
                              "Count the letter {1} in the phrase {0}."};
const Strings kEven = {"How many even numbers are in {0}?", "Count the even numbers in {0}."};
const Strings kGreater = {"How many numbers in {0} are greater than {1}?", "Count the numbers above {1} in {0}."};
// Follow-ups (multiturn).
const Strings kThenAdd = {"Now add {0} to that.", "Add {0} to it.", "What is that plus {0}?"};
const Strings kThenSub = {"Now subtract {0} from that.", "Subtract {0} from it.", "What is that minus {0}?"};
const Strings kThenDouble = {"Now double it.", "Now multiply that by 2.", "What is twice that?"};
const Strings kThenMul = {"Now multiply that by {0}.", "Multiply it by {0}.", "What is that times {0}?"};
const Strings kThenUpper = {"Now write it in uppercase.", "Now make it uppercase.", "Now convert it to uppercase."};
const Strings kThenLargest = {"Now what is the largest?", "Which number is the largest now?"};
const Strings kThenSum = {"Now what is the sum?", "What do they add up to?"};
const Strings kThenDesc = {"Now sort them from largest to smallest.", "Now put them in decreasing order."};
const Strings kThenDropMin = {"Now remove the smallest number.", "Drop the smallest one."};
const Strings kThenFirst = {"Now what is its first letter?", "What letter does it start with now?"};

std::string fill(const std::string& tmpl, const std::string& a0, const std::string& a1 = "") {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{' && i + 2 < tmpl.size() && tmpl[i + 2] == '}' && (tmpl[i + 1] == '0' || tmpl[i + 1] == '1')) {
      out += tmpl[i + 1] == '0' ? a0 : a1;
      i += 2;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

std::string str(int64_t v) { return std::to_string(v); }

std::string join_ints(const Ints& xs, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? sep : "") + str(xs[i]);
  return out;
}

// `count` distinct integers from [lo, hi], in random order.
Ints distinct_ints(Rng& r, int count, int64_t lo, int64_t hi) {
  Ints pool;
  for (int64_t v = lo; v <= hi; ++v) pool.push_back(v);
  r.shuffle(pool);
  pool.resize(static_cast<size_t>(count));
  return pool;
}

Ints random_ints(Rng& r, int count, int64_t lo, int64_t hi) {
  Ints out;
  for (int i = 0; i < count; ++i) out.push_back(r.uniform_int(lo, hi));
  return out;
}

const std::string& pick_word(Rng& r, std::initializer_list<const Strings*> lists) {
  size_t total = 0;
  for (const Strings* l : lists) total += l->size();
  size_t k = static_cast<size_t>(r.uniform_int(0, static_cast<int64_t>(total) - 1));
  for (const Strings* l : lists) {
    if (k < l->size()) return (*l)[k];
    k -= l->size();
  }
  return kWords3[0];  // unreachable
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string reversed(std::string s) {
  std::reverse(s.begin(), s.end());
  return s;
}

int64_t sum(const Ints& xs) {
  int64_t s = 0;
  for (int64_t x : xs) s += x;
  return s;
}

Ints sorted(Ints xs, bool descending = false) {
  std::sort(xs.begin(), xs.end());
  if (descending) std::reverse(xs.begin(), xs.end());
  return xs;
}

// One step of a task: the question asked and its answer.
struct Step {
  std::string question;
  std::string answer;  // canonical reference
  std::string key;     // problem key
};

struct Expr {
  std::string text;  // "12 + 7 * 8"
  int64_t value;
};

Expr arith_expr(Rng& r, int level) {
  int64_t a, b, c;
  if (level == 1) {
    const bool add = r.bernoulli(0.6);
    a = r.uniform_int(0, 9);
    b = r.uniform_int(0, 9);
    if (add) return {str(a) + " + " + str(b), a + b};
    if (a < b) std::swap(a, b);
    return {str(a) + " - " + str(b), a - b};
  }
  if (level == 2) {
    switch (r.uniform_int(0, 2)) {
      case 0:
        a = r.uniform_int(10, 99), b = r.uniform_int(10, 99);
        return {str(a) + " + " + str(b), a + b};
      case 1:
        a = r.uniform_int(10, 99), b = r.uniform_int(10, 99);
        if (a < b) std::swap(a, b);
        return {str(a) + " - " + str(b), a - b};
      default:
        a = r.uniform_int(2, 9), b = r.uniform_int(2, 9);
        return {str(a) + " * " + str(b), a * b};
    }
  }
  switch (r.uniform_int(0, 4)) {
    case 0:
      a = r.uniform_int(100, 999), b = r.uniform_int(100, 999);
      return {str(a) + " + " + str(b), a + b};
    case 1:
      a = r.uniform_int(100, 999), b = r.uniform_int(100, 999);
      return {str(a) + " - " + str(b), a - b};
    case 2:
      a = r.uniform_int(10, 99), b = r.uniform_int(2, 99);
      return {str(a) + " * " + str(b), a * b};
    case 3:
      a = r.uniform_int(1, 50), b = r.uniform_int(2, 9), c = r.uniform_int(2, 9);
      return {str(a) + " + " + str(b) + " * " + str(c), a + b * c};
    default:
      a = r.uniform_int(2, 9), b = r.uniform_int(2, 9), c = r.uniform_int(1, 50);
      return {str(a) + " * " + str(b) + " - " + str(c), a * b - c};
  }
}

std::string compact(const std::string& expr) {
  std::string out;
  for (char ch : expr)
    if (ch != ' ') out += ch;
  return out;
}

Step arith_step(Rng& r, int level) {
  Expr e = arith_expr(r, level);
  return {fill(r.pick(kArith), e.text), str(e.value), "arith:" + compact(e.text)};
}

std::vector<Step> arithmetic(Rng& r, int level) { return {arith_step(r, level)}; }

std::vector<Step> string_task(Rng& r, int level) {
  if (level == 1) {
    const std::string& w = pick_word(r, {&kWords3, &kWords4, &kWords5});
    if (r.bernoulli(0.5)) return {{fill(r.pick(kFirst), w), w.substr(0, 1), "string:first:" + w}};
    return {{fill(r.pick(kLast), w), w.substr(w.size() - 1), "string:last:" + w}};
  }
  if (level == 2) {
    if (r.bernoulli(0.5)) {
      const std::string& w = pick_word(r, {&kWords3, &kWords4});
      return {{fill(r.pick(kReverse), w), reversed(w), "string:reverse:" + w}};
    }
    const std::string& w = pick_word(r, {&kWords3, &kWords4, &kWords5});
    return {{fill(r.pick(kUpper), w), upper(w), "string:upper:" + w}};
  }
  switch (r.uniform_int(0, 2)) {
    case 0: {
      const std::string& w = pick_word(r, {&kWords5, &kWords6, &kWords7});
      return {{fill(r.pick(kReverse), w), reversed(w), "string:reverse:" + w}};
    }
    case 1: {
      const std::string& w = pick_word(r, {&kWords4, &kWords5, &kWords6});
      std::string s = w;
      std::sort(s.begin(), s.end());
      return {{fill(r.pick(kSortLetters), w), s, "string:sort:" + w}};
    }
    default: {
      const std::string& w = pick_word(r, {&kWords4, &kWords5, &kWords6});
      return {{fill(r.pick(kReverseUpper), w), upper(reversed(w)), "string:revupper:" + w}};
    }
  }
}

Step max_min_step(Rng& r, const Ints& xs) {
  const std::string l = join_ints(xs);
  if (r.bernoulli(0.5))
    return {fill(r.pick(kMax), l), str(*std::max_element(xs.begin(), xs.end())), "list:max:" + join_ints(xs, ",")};
  return {fill(r.pick(kMin), l), str(*std::min_element(xs.begin(), xs.end())), "list:min:" + join_ints(xs, ",")};
}

Step sum_step(Rng& r, const Ints& xs) {
  return {fill(r.pick(kSum), join_ints(xs)), str(sum(xs)), "list:sum:" + join_ints(xs, ",")};
}

Step sort_step(Rng& r, const Ints& xs, bool descending) {
  return {fill(r.pick(descending ? kSortDesc : kSortAsc), join_ints(xs)), join_ints(sorted(xs, descending)),
          std::string(descending ? "list:sortdesc:" : "list:sort:") + join_ints(xs, ",")};
}

std::vector<Step> list_task(Rng& r, int level) {
  if (level == 1) return {max_min_step(r, distinct_ints(r, 3, 0, 9))};
  if (level == 2) {
    switch (r.uniform_int(0, 2)) {
      case 0: return {sum_step(r, distinct_ints(r, 3, 0, 9))};
      case 1: return {sort_step(r, distinct_ints(r, static_cast<int>(r.uniform_int(3, 4)), 0, 9), false)};
      default: return {max_min_step(r, distinct_ints(r, static_cast<int>(r.uniform_int(4, 5)), 10, 99))};
    }
  }
  switch (r.uniform_int(0, 2)) {
    case 0: {
      Ints xs = distinct_ints(r, static_cast<int>(r.uniform_int(5, 6)), 10, 99);
      return {sort_step(r, xs, r.bernoulli(0.5))};
    }
    case 1: return {sum_step(r, distinct_ints(r, static_cast<int>(r.uniform_int(4, 5)), 10, 99))};
    default: {
      Ints xs = distinct_ints(r, static_cast<int>(r.uniform_int(4, 6)), 10, 99);
      Ints rev(xs.rbegin(), xs.rend());
      return {{fill(r.pick(kReverseList), join_ints(xs)), join_ints(rev), "list:reverse:" + join_ints(xs, ",")}};
    }
  }
}

// A letter to count in `text`: usually one of its letters (weighted by frequency, so
// repeated letters come up more), sometimes one it lacks (answer 0).
char letter_to_count(Rng& r, const std::string& text) {
  if (r.bernoulli(0.8)) {
    while (true) {
      char c = text[static_cast<size_t>(r.uniform_int(0, static_cast<int64_t>(text.size()) - 1))];
      if (c != ' ') return c;
    }
  }
  std::string absent;
  for (char c = 'a'; c <= 'z'; ++c)
    if (text.find(c) == std::string::npos) absent += c;
  return absent[static_cast<size_t>(r.uniform_int(0, static_cast<int64_t>(absent.size()) - 1))];
}

int64_t count_char(const std::string& s, char c) { return static_cast<int64_t>(std::count(s.begin(), s.end(), c)); }

std::vector<Step> counting(Rng& r, int level) {
  if (level == 1) {
    if (r.bernoulli(0.5)) {
      const std::string& w = pick_word(r, {&kWords3, &kWords4, &kWords5});
      return {{fill(r.pick(kLength), w), str(static_cast<int64_t>(w.size())), "count:len:" + w}};
    }
    Strings items = kFruits;
    r.shuffle(items);
    items.resize(static_cast<size_t>(r.uniform_int(2, 4)));
    return {{fill(r.pick(kItems), join(items, ", ")), str(static_cast<int64_t>(items.size())),
             "count:items:" + join(items, ",")}};
  }
  if (level == 2) {
    if (r.bernoulli(0.5)) {
      const std::string& w = pick_word(r, {&kWords4, &kWords5, &kWords6, &kWords7});
      const std::string c(1, letter_to_count(r, w));
      return {{fill(r.pick(kLetterCount), w, c), str(count_char(w, c[0])), "count:letter:" + c + ":" + w}};
    }
    Ints xs = random_ints(r, static_cast<int>(r.uniform_int(4, 5)), 0, 9);
    int64_t even = 0;
    for (int64_t x : xs) even += x % 2 == 0;
    return {{fill(r.pick(kEven), join_ints(xs)), str(even), "count:even:" + join_ints(xs, ",")}};
  }
  if (r.bernoulli(0.5)) {
    std::string phrase = pick_word(r, {&kWords5, &kWords6, &kWords7});
    phrase += " " + pick_word(r, {&kWords5, &kWords6, &kWords7});
    const std::string c(1, letter_to_count(r, phrase));
    return {{fill(r.pick(kPhraseCount), phrase, c), str(count_char(phrase, c[0])),
             "count:letter:" + c + ":" + phrase}};
  }
  Ints xs = random_ints(r, static_cast<int>(r.uniform_int(5, 6)), 10, 99);
  const int64_t k = r.uniform_int(2, 8) * 10;
  int64_t above = 0;
  for (int64_t x : xs) above += x > k;
  return {{fill(r.pick(kGreater), join_ints(xs), str(k)), str(above), "count:gt:" + str(k) + ":" + join_ints(xs, ",")}};
}

// Follow-ups on a number: add, subtract (kept >= 0 when `nonnegative`), double, multiply.
Step then_add(Rng& r, int64_t& v, int64_t lo, int64_t hi) {
  const int64_t k = r.uniform_int(lo, hi);
  v += k;
  return {fill(r.pick(kThenAdd), str(k)), str(v), "+" + str(k)};
}

Step then_add_or_sub(Rng& r, int64_t& v, int64_t lo, int64_t hi, bool nonnegative) {
  const int64_t k = r.uniform_int(lo, hi);
  if (r.bernoulli(0.5) && (!nonnegative || v - k >= 0)) {
    v -= k;
    return {fill(r.pick(kThenSub), str(k)), str(v), "-" + str(k)};
  }
  v += k;
  return {fill(r.pick(kThenAdd), str(k)), str(v), "+" + str(k)};
}

std::vector<Step> multiturn(Rng& r, int level) {
  if (level == 1) {
    const int64_t a = r.uniform_int(0, 9), b = r.uniform_int(0, 9);
    const std::string e = str(a) + " + " + str(b);
    int64_t v = a + b;
    Step first{fill(r.pick(kArith), e), str(v), "arith:" + compact(e)};
    return {first, then_add(r, v, 1, 9)};
  }
  const int kind = static_cast<int>(r.uniform_int(0, 2));
  if (level == 2) {
    if (kind == 0) {
      Expr e = arith_expr(r, 2);
      int64_t v = e.value;
      Step first{fill(r.pick(kArith), e.text), str(v), "arith:" + compact(e.text)};
      if (r.uniform_int(0, 2) == 0) {
        v *= 2;
        return {first, {r.pick(kThenDouble), str(v), "*2"}};
      }
      return {first, then_add_or_sub(r, v, 1, 20, /*nonnegative=*/true)};
    }
    if (kind == 1) {
      const std::string& w = pick_word(r, {&kWords3, &kWords4});
      return {{fill(r.pick(kReverse), w), reversed(w), "string:reverse:" + w},
              {r.pick(kThenUpper), upper(reversed(w)), "upper"}};
    }
    Ints xs = distinct_ints(r, static_cast<int>(r.uniform_int(3, 4)), 0, 9);
    Step first = sort_step(r, xs, false);
    switch (r.uniform_int(0, 2)) {
      case 0: return {first, {r.pick(kThenLargest), str(*std::max_element(xs.begin(), xs.end())), "max"}};
      case 1: return {first, {r.pick(kThenSum), str(sum(xs)), "sum"}};
      default: return {first, {r.pick(kThenDesc), join_ints(sorted(xs, true)), "sortdesc"}};
    }
  }
  if (kind == 0) {
    Expr e = arith_expr(r, 2);
    int64_t v = e.value;
    Step first{fill(r.pick(kArith), e.text), str(v), "arith:" + compact(e.text)};
    const int64_t k = r.uniform_int(2, 9);
    v *= k;
    Step second{fill(r.pick(kThenMul), str(k)), str(v), "*" + str(k)};
    return {first, second, then_add_or_sub(r, v, 1, 50, /*nonnegative=*/false)};
  }
  if (kind == 1) {
    Ints xs = distinct_ints(r, static_cast<int>(r.uniform_int(4, 5)), 10, 99);
    Step first = sort_step(r, xs, false);
    const Ints asc = sorted(xs);
    const Ints rest(asc.begin() + 1, asc.end());
    return {first, {r.pick(kThenDropMin), join_ints(rest), "dropmin"}, {r.pick(kThenSum), str(sum(rest)), "sum"}};
  }
  const std::string& w = pick_word(r, {&kWords4, &kWords5});
  const std::string up = upper(reversed(w));
  return {{fill(r.pick(kReverse), w), reversed(w), "string:reverse:" + w},
          {r.pick(kThenUpper), up, "upper"},
          {r.pick(kThenFirst), up.substr(0, 1), "first"}};
}

void check_difficulty(int d, const char* key) {
  if (d < kMinDifficulty || d > kMaxDifficulty)
    throw_invalid("difficulty must be in " + str(kMinDifficulty) + ".." + str(kMaxDifficulty) + ", got " + str(d),
                  {.key = key});
}

void check_category(const std::string& c) {
  const auto& all = all_categories();
  if (std::find(all.begin(), all.end(), c) != all.end()) return;
  const std::string close = closest_match(c, all);
  throw_invalid("unknown synthetic task category '" + c + "'",
                {.key = "categories", .hint = (close.empty() ? "" : "did you mean '" + close + "'? ") +
                                                  "categories: " + join(all, ", ")});
}

}  // namespace

const std::vector<std::string>& all_categories() {
  static const std::vector<std::string> kAll = {"arithmetic", "string", "list", "counting", "multiturn"};
  return kAll;
}

std::string format_answer(const std::string& reference) { return "The answer is " + reference + "."; }

Task generate_task(uint64_t seed, int64_t index, const std::string& category, int difficulty) {
  check_category(category);
  check_difficulty(difficulty, "difficulty");
  // The content stream also depends on category and level, so the same index under another
  // category or level is an unrelated task.
  Rng r = Rng::for_index(seed, static_cast<uint64_t>(index),
                         /*stream=*/hash_string(category, static_cast<uint64_t>(difficulty)));
  std::vector<Step> steps;
  if (category == "arithmetic") steps = arithmetic(r, difficulty);
  else if (category == "string") steps = string_task(r, difficulty);
  else if (category == "list") steps = list_task(r, difficulty);
  else if (category == "counting") steps = counting(r, difficulty);
  else steps = multiturn(r, difficulty);

  Task t;
  t.id = "synth-" + std::to_string(seed) + "-" + str(index);
  t.category = category;
  t.difficulty = difficulty;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i > 0) t.messages.push_back({"assistant", format_answer(steps[i - 1].answer)});
    t.messages.push_back({"user", steps[i].question});
    t.problem += (i ? "|" : "") + steps[i].key;
  }
  t.reference = steps.back().answer;
  t.reference_response = format_answer(t.reference);
  return t;
}

std::vector<Task> generate_tasks(const GenerateOptions& opts) {
  if (opts.n < 0) throw_invalid("number of tasks must be >= 0, got " + str(opts.n), {.key = "n"});
  if (opts.start_index < 0) throw_invalid("start index must be >= 0", {.key = "start_index"});
  check_difficulty(opts.min_difficulty, "min_difficulty");
  check_difficulty(opts.max_difficulty, "max_difficulty");
  if (opts.min_difficulty > opts.max_difficulty)
    throw_invalid("min_difficulty " + str(opts.min_difficulty) + " > max_difficulty " + str(opts.max_difficulty),
                  {.key = "min_difficulty"});
  const size_t levels = static_cast<size_t>(opts.max_difficulty - opts.min_difficulty + 1);
  std::vector<double> weights = opts.difficulty_weights;
  if (weights.empty()) weights.assign(levels, 1.0);
  if (weights.size() != levels)
    throw_invalid("difficulty_weights has " + str(static_cast<int64_t>(weights.size())) + " entries for " +
                      str(static_cast<int64_t>(levels)) + " difficulty levels",
                  {.key = "difficulty_weights", .hint = "one weight per level from min to max difficulty"});
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w))
      throw_invalid("difficulty weights must be finite and >= 0", {.key = "difficulty_weights"});
    total += w;
  }
  if (total <= 0) throw_invalid("difficulty weights sum to 0", {.key = "difficulty_weights"});

  std::vector<std::string> cats = opts.categories.empty() ? all_categories() : opts.categories;
  std::set<std::string> seen;
  for (const auto& c : cats) {
    check_category(c);
    if (!seen.insert(c).second) throw_invalid("category '" + c + "' listed twice", {.key = "categories"});
  }

  std::vector<Task> out;
  out.reserve(static_cast<size_t>(opts.n));
  for (int64_t i = opts.start_index; i < opts.start_index + opts.n; ++i) {
    Rng r = Rng::for_index(opts.seed, static_cast<uint64_t>(i), /*stream=*/0);
    const std::string& cat = r.pick(cats);
    const int level = opts.min_difficulty + static_cast<int>(r.weighted_index(weights));
    out.push_back(generate_task(opts.seed, i, cat, level));
  }
  return out;
}

SplitBy split_by_from_name(const std::string& name) {
  if (name == "task") return SplitBy::Task;
  if (name == "problem") return SplitBy::Problem;
  throw_invalid("unknown split mode '" + name + "'", {.key = "heldout-by", .hint = "task | problem"});
}

Split split_heldout(const std::vector<Task>& tasks, double fraction, uint64_t seed, SplitBy by) {
  if (!(fraction >= 0.0 && fraction <= 1.0))
    throw_invalid("held-out fraction must be in [0, 1], got " + std::to_string(fraction), {.key = "heldout"});
  std::vector<char> held(tasks.size(), 0);
  Rng r = Rng::for_index(seed, 0, /*stream=*/0x5eed5117);
  const double target = fraction * static_cast<double>(tasks.size());
  if (by == SplitBy::Task) {
    std::vector<size_t> order(tasks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    r.shuffle(order);
    const size_t k = static_cast<size_t>(std::llround(target));
    for (size_t i = 0; i < k && i < order.size(); ++i) held[order[i]] = 1;
  } else {
    // A task without a problem key (read from elsewhere) is keyed by its prompt text.
    auto key = [](const Task& t) {
      if (!t.problem.empty()) return t.problem;
      std::string k;
      for (const auto& m : t.messages) k += m.role + ":" + m.content + "\n";
      return k;
    };
    std::map<std::string, std::vector<size_t>> groups;
    std::vector<std::string> problems;  // in order of first appearance
    for (size_t i = 0; i < tasks.size(); ++i) {
      auto& g = groups[key(tasks[i])];
      if (g.empty()) problems.push_back(key(tasks[i]));
      g.push_back(i);
    }
    r.shuffle(problems);
    size_t count = 0;
    for (const auto& p : problems) {
      if (static_cast<double>(count) >= target || target == 0) break;
      for (size_t i : groups[p]) held[i] = 1;
      count += groups[p].size();
    }
  }
  Split s;
  for (size_t i = 0; i < tasks.size(); ++i) (held[i] ? s.heldout : s.train).push_back(tasks[i]);
  return s;
}

nlohmann::ordered_json task_stats(const std::vector<Task>& tasks) {
  std::map<std::string, int64_t> by_cat;
  std::map<int, int64_t> by_diff;
  std::map<std::string, std::map<int, int64_t>> by_both;
  std::set<std::string> problems;
  int64_t multi = 0;
  for (const auto& t : tasks) {
    ++by_cat[t.category];
    ++by_diff[t.difficulty];
    ++by_both[t.category][t.difficulty];
    int users = 0;
    for (const auto& m : t.messages) users += m.role == "user";
    multi += users > 1;
    problems.insert(t.problem.empty() ? t.id : t.problem);
  }
  // Canonical categories first, in their order, then any others alphabetically.
  std::vector<std::string> order;
  for (const auto& c : all_categories())
    if (by_cat.count(c)) order.push_back(c);
  for (const auto& [c, n] : by_cat)
    if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);

  nlohmann::ordered_json j;
  j["total"] = tasks.size();
  j["multi_turn"] = multi;
  j["distinct_problems"] = problems.size();
  j["by_category"] = nlohmann::ordered_json::object();
  for (const auto& c : order) j["by_category"][c] = by_cat[c];
  j["by_difficulty"] = nlohmann::ordered_json::object();
  for (const auto& [d, n] : by_diff) j["by_difficulty"][str(d)] = n;
  j["by_category_difficulty"] = nlohmann::ordered_json::object();
  for (const auto& c : order) {
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (const auto& [d, n] : by_both[c]) per[str(d)] = n;
    j["by_category_difficulty"][c] = per;
  }
  return j;
}

}  // namespace fw::synth
