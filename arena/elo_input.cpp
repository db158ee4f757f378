#include "arena/elo_input.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "core/error.h"

namespace fw::arena {
namespace {

using namespace std::string_view_literals;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A strict JSON scanner over one line. Every function returns false both for invalid JSON
// and for valid JSON it leaves to the full parser; the caller then falls back.
struct Scanner {
  const char* p;
  const char* end;
  int depth = 0;

  char peek() const { return p < end ? *p : '\0'; }
  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++p;
    return true;
  }
  bool lit(const char* s) {
    const size_t n = std::strlen(s);
    if (static_cast<size_t>(end - p) < n || std::memcmp(p, s, n) != 0) return false;
    p += n;
    return true;
  }
  // A string of printable ASCII with the simple escapes (no \u); appended to *out if given.
  bool str(std::string* out) {
    if (!eat('"')) return false;
    const char* run = p;
    while (p < end) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') {
        if (out) out->append(run, p);
        ++p;
        return true;
      }
      if (c < 0x20 || c >= 0x80) return false;
      if (c == '\\') {
        if (out) out->append(run, p);
        if (++p >= end) return false;
        char d;
        switch (*p++) {
          case '"': d = '"'; break;
          case '\\': d = '\\'; break;
          case '/': d = '/'; break;
          case 'b': d = '\b'; break;
          case 'f': d = '\f'; break;
          case 'n': d = '\n'; break;
          case 'r': d = '\r'; break;
          case 't': d = '\t'; break;
          default: return false;
        }
        if (out) out->push_back(d);
        run = p;
        continue;
      }
      ++p;
    }
    return false;
  }
  // A JSON number (its exact grammar); its value into *value if given.
  bool number(double* value) {
    const char* start = p;
    eat('-');
    if (eat('0')) {
    } else if (peek() >= '1' && peek() <= '9') {
      while (is_digit(peek())) ++p;
    } else {
      return false;
    }
    if (eat('.')) {
      if (!is_digit(peek())) return false;
      while (is_digit(peek())) ++p;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++p;
      if (peek() == '+' || peek() == '-') ++p;
      if (!is_digit(peek())) return false;
      while (is_digit(peek())) ++p;
    }
    if (value) {
      const auto r = std::from_chars(start, p, *value);
      if (r.ec != std::errc() || r.ptr != p) return false;
    }
    return true;
  }
  // Any JSON value, checked and skipped.
  bool value() {
    switch (peek()) {
      case '"': return str(nullptr);
      case 't': return lit("true");
      case 'f': return lit("false");
      case 'n': return lit("null");
      case '{':
      case '[': {
        const bool object = *p == '{';
        const char close = object ? '}' : ']';
        if (++depth > 64) return false;
        ++p;
        ws();
        if (!eat(close)) {
          for (;;) {
            ws();
            if (object) {
              if (!str(nullptr)) return false;
              ws();
              if (!eat(':')) return false;
              ws();
            }
            if (!value()) return false;
            ws();
            if (eat(',')) continue;
            if (eat(close)) break;
            return false;
          }
        }
        --depth;
        return true;
      }
      default: return number(nullptr);
    }
  }
  // null, or a string into *out.
  bool null_or_str(std::string* out) { return lit("null") || str(out); }
};

// One element of "games", checked as battle_from_json checks it.
bool check_game(Scanner& s) {
  if (!s.eat('{')) return false;
  s.ws();
  if (s.eat('}')) return true;
  std::string key, order;
  bool seen_order = false, seen_a = false, seen_b = false, seen_judgment = false;
  for (;;) {
    s.ws();
    key.clear();
    if (!s.str(&key)) return false;
    s.ws();
    if (!s.eat(':')) return false;
    s.ws();
    if (key == "order"sv) {
      if (seen_order) return false;
      seen_order = true;
      order.clear();
      if (!s.null_or_str(&order)) return false;
      if (!order.empty() && order != "ab"sv && order != "ba"sv) return false;
    } else if (key == "score_a"sv || key == "score_b"sv) {
      bool& seen = key == "score_a"sv ? seen_a : seen_b;
      if (seen) return false;
      seen = true;
      if (!s.lit("null") && !s.number(nullptr)) return false;
    } else if (key == "judgment"sv) {
      if (seen_judgment) return false;
      seen_judgment = true;
      if (!s.null_or_str(nullptr)) return false;
    } else if (!s.value()) {
      return false;
    }
    s.ws();
    if (s.eat(',')) continue;
    return s.eat('}');
  }
}

bool check_games(Scanner& s) {
  if (s.lit("null")) return true;
  if (!s.eat('[')) return false;
  s.ws();
  if (s.eat(']')) return true;
  for (;;) {
    s.ws();
    if (!check_game(s)) return false;
    s.ws();
    if (s.eat(',')) continue;
    return s.eat(']');
  }
}

// The fast path for one line; false = let the full parser decide.
bool scan_battle(const char* begin, const char* end, Battle& b) {
  Scanner s{begin, end};
  s.ws();
  if (!s.eat('{')) return false;
  enum { kQid, kA, kB, kWinner, kJudge, kCategory, kTstamp, kGames, kFields };
  bool seen[kFields] = {};
  std::string key, winner;
  for (;;) {
    s.ws();
    key.clear();
    if (!s.str(&key)) return false;
    s.ws();
    if (!s.eat(':')) return false;
    s.ws();
    int f = kFields;
    if (key == "question_id"sv) f = kQid;
    else if (key == "model_a"sv) f = kA;
    else if (key == "model_b"sv) f = kB;
    else if (key == "winner"sv) f = kWinner;
    else if (key == "judge"sv) f = kJudge;
    else if (key == "category"sv) f = kCategory;
    else if (key == "tstamp"sv) f = kTstamp;
    else if (key == "games"sv) f = kGames;
    if (f != kFields) {
      if (seen[f]) return false;  // a repeated key: the full parser's rules
      seen[f] = true;
    }
    bool ok = false;
    switch (f) {
      case kQid: ok = s.null_or_str(&b.question_id); break;
      case kJudge: ok = s.null_or_str(&b.judge); break;
      case kCategory: ok = s.null_or_str(&b.category); break;
      case kA: ok = s.str(&b.model_a); break;
      case kB: ok = s.str(&b.model_b); break;
      case kWinner: ok = s.str(&winner); break;
      case kTstamp: ok = (s.peek() == '-' || is_digit(s.peek())) ? s.number(&b.tstamp) : s.value(); break;
      case kGames: ok = check_games(s); break;
      default: ok = s.value();
    }
    if (!ok) return false;
    s.ws();
    if (s.eat(',')) continue;
    if (s.eat('}')) break;
    return false;
  }
  s.ws();
  if (s.p != s.end) return false;
  if (!seen[kA] || !seen[kB] || !seen[kWinner]) return false;
  if (b.model_a.empty() || b.model_b.empty() || b.model_a == b.model_b) return false;
  if (winner == "model_a"sv) b.winner = Winner::ModelA;
  else if (winner == "model_b"sv) b.winner = Winner::ModelB;
  else if (winner == "tie"sv) b.winner = Winner::Tie;
  else if (winner == "tie (bothbad)"sv) b.winner = Winner::TieBothBad;
  else return false;
  return true;
}

// The full path, with for_each_jsonl's and read_battles' errors.
Battle parse_battle_line(const std::string& text, const std::string& path, long line) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw_invalid(std::string("invalid JSON line: ") + e.what(),
                  {.file = path, .line = line, .hint = "each line of a JSONL file must be one complete JSON value"});
  }
  try {
    Battle b = battle_from_json(value, path, line);
    b.games.clear();
    b.extra = nlohmann::ordered_json::object();
    return b;
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("unexpected JSON content: ") + e.what(), {.file = path, .line = line});
  }
}

struct Chunk {
  size_t begin = 0, end = 0;  // byte range, whole lines
  long first_line = 1;
  long lines = 0;  // newlines in the range (an upper bound on the battles, less one)
  std::vector<Battle> battles;
  std::exception_ptr error;
};

void parse_chunk(const std::string& text, const std::string& path, Chunk& c) {
  long line = c.first_line;
  size_t pos = c.begin;
  try {
    c.battles.reserve(static_cast<size_t>(c.lines) + 1);
    while (pos < c.end) {
      const char* nl = static_cast<const char*>(std::memchr(text.data() + pos, '\n', c.end - pos));
      const size_t stop = nl ? static_cast<size_t>(nl - text.data()) : c.end;
      size_t last = stop;
      if (last > pos && text[last - 1] == '\r') --last;  // as for_each_jsonl: one trailing \r
      bool blank = true;
      for (size_t i = pos; i < last && blank; ++i) blank = text[i] == ' ' || text[i] == '\t';
      if (!blank) {
        Battle b;
        if (!scan_battle(text.data() + pos, text.data() + last, b))
          b = parse_battle_line(text.substr(pos, last - pos), path, line);
        c.battles.push_back(std::move(b));
      }
      pos = stop + 1;
      ++line;
    }
  } catch (...) {
    c.error = std::current_exception();
  }
}

// The whole file in one read (no stream copies: the file may be hundreds of MB).
std::string read_all(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_runtime("cannot open battle file", {.file = path});
  std::string text;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long size = std::ftell(f);
    if (size > 0) text.resize(static_cast<size_t>(size));
    std::rewind(f);
  }
  size_t got = text.empty() ? 0 : std::fread(text.data(), 1, text.size(), f);
  text.resize(got);
  char buf[65536];  // anything past the size seen (a growing file, a pipe)
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw_runtime("error while reading file", {.file = path});
  return text;
}

}  // namespace

std::vector<Battle> read_battles_for_elo(const std::string& path, int threads) {
  std::string text = read_all(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') return read_battles(path);

  int n_threads = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  n_threads = std::max(1, n_threads);
  // Chunks of whole lines, a few per thread.
  const size_t n_chunks = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(n_threads) * 4, text.size() / 65536 + 1));
  std::vector<Chunk> chunks(n_chunks);
  size_t start = 0;
  for (size_t k = 0; k < n_chunks; ++k) {
    size_t stop = k + 1 == n_chunks ? text.size() : std::max(start, text.size() * (k + 1) / n_chunks);
    if (stop < text.size()) {
      const size_t nl = text.find('\n', stop);
      stop = nl == std::string::npos ? text.size() : nl + 1;
    }
    chunks[k].begin = start;
    chunks[k].end = stop;
    start = stop;
  }
  auto run = [&](const auto& fn) {
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t k = next++; k < n_chunks; k = next++) fn(chunks[k]);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::min<int>(n_threads, static_cast<int>(n_chunks)); ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
  };
  // Line numbers: count the newlines of every chunk, then parse.
  run([&](Chunk& c) {
    c.lines = static_cast<long>(std::count(text.begin() + static_cast<std::ptrdiff_t>(c.begin),
                                           text.begin() + static_cast<std::ptrdiff_t>(c.end), '\n'));
  });
  for (size_t k = 1; k < n_chunks; ++k) chunks[k].first_line = chunks[k - 1].first_line + chunks[k - 1].lines;
  run([&](Chunk& c) { parse_chunk(text, path, c); });

  size_t total = 0;
  for (const Chunk& c : chunks) {
    if (c.error) std::rethrow_exception(c.error);  // the first bad line of the file
    total += c.battles.size();
  }
  std::string().swap(text);  // the bytes are no longer needed; peak memory stays lower
  std::vector<Battle> out;
  out.reserve(total);
  for (Chunk& c : chunks) {
    for (Battle& b : c.battles) out.push_back(std::move(b));
    std::vector<Battle>().swap(c.battles);
  }
  return out;
}

}  // namespace fw::arena
