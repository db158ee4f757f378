#include "arena/elo_input.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
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
  // A JSON number (its exact grammar), checked and skipped.
  bool number() {
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
    const bool exponent = peek() == 'e' || peek() == 'E';
    if (exponent) {
      ++p;
      if (peek() == '+' || peek() == '-') ++p;
      if (!is_digit(peek())) return false;
      while (is_digit(peek())) ++p;
    }
    // A number the full parser may refuse (one overflowing a double: only with an
    // exponent or hundreds of digits) is converted to be sure; out of range = fall back.
    if (exponent || p - start > 300) {
      double v = 0;
      const auto r = std::from_chars(start, p, v);
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
      default: return number();
    }
  }
  // null, or a string into *out.
  bool null_or_str(std::string* out) { return lit("null") || str(out); }
  // A string as str() reads it, as a view: into the line when it has no escape, else
  // decoded into `scratch`.
  bool str_view(std::string_view& out, std::string& scratch) {
    if (peek() != '"') return false;
    const char* q = p + 1;
    while (q < end && *q != '"' && *q != '\\' && static_cast<unsigned char>(*q) >= 0x20 &&
           static_cast<unsigned char>(*q) < 0x80)
      ++q;
    if (q < end && *q == '"') {
      out = std::string_view(p + 1, static_cast<size_t>(q - p - 1));
      p = q + 1;
      return true;
    }
    scratch.clear();
    if (!str(&scratch)) return false;
    out = scratch;
    return true;
  }
  bool null_or_str_view(std::string_view& out, std::string& scratch) {
    if (lit("null")) {
      out = {};
      return true;
    }
    return str_view(out, scratch);
  }
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
      if (!s.lit("null") && !s.number()) return false;
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

enum BattleField { kQid, kA, kB, kWinner, kJudge, kCategory, kTstamp, kGames, kFields };

// The field a key names (kFields: another key). By length first: the keys of every line
// come through here, and a compare against a literal of known length stays inline.
int battle_field(std::string_view k) {
  auto is = [&](const char* name, size_t n) { return std::memcmp(k.data(), name, n) == 0; };
  switch (k.size()) {
    case 5: return is("judge", 5) ? kJudge : is("games", 5) ? kGames : kFields;
    case 6: return is("winner", 6) ? kWinner : is("tstamp", 6) ? kTstamp : kFields;
    case 7: return is("model_a", 7) ? kA : is("model_b", 7) ? kB : kFields;
    case 8: return is("category", 8) ? kCategory : kFields;
    case 11: return is("question_id", 11) ? kQid : kFields;
    default: return kFields;
  }
}

// What Elo keeps of a battle; the views point into the line or into `scratch`.
struct EloFields {
  std::string_view model_a, model_b, category;
  Winner winner = Winner::Tie;
  std::string scratch[3];
};

// The fast path for one line; false = let the full parser decide. question_id, judge,
// tstamp and games are checked as battle_from_json checks them, not kept.
bool scan_battle(const char* begin, const char* end, EloFields& b) {
  Scanner s{begin, end};
  s.ws();
  if (!s.eat('{')) return false;
  bool seen[kFields] = {};
  std::string key_scratch;
  std::string_view key, winner;
  std::string winner_scratch;
  b.category = {};
  for (;;) {
    s.ws();
    if (!s.str_view(key, key_scratch)) return false;
    s.ws();
    if (!s.eat(':')) return false;
    s.ws();
    const int f = battle_field(key);
    if (f != kFields) {
      if (seen[f]) return false;  // a repeated key: the full parser's rules
      seen[f] = true;
    }
    bool ok = false;
    switch (f) {
      case kQid:
      case kJudge: ok = s.null_or_str(nullptr); break;
      case kCategory: ok = s.null_or_str_view(b.category, b.scratch[2]); break;
      case kA: ok = s.str_view(b.model_a, b.scratch[0]); break;
      case kB: ok = s.str_view(b.model_b, b.scratch[1]); break;
      case kWinner: ok = s.str_view(winner, winner_scratch); break;
      case kTstamp: ok = (s.peek() == '-' || is_digit(s.peek())) ? s.number() : s.value(); break;
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
  } catch (const nlohmann::json::exception& e) {  // as for_each_jsonl: syntax, or a number overflowing
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

// The file's bytes: mapped when it is a regular file (no copy of what may be hundreds of
// MB), else read whole (a pipe).
class FileBytes {
 public:
  explicit FileBytes(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_runtime("cannot open battle file", {.file = path});
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m != MAP_FAILED) {
        ::madvise(m, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
        map_ = m;
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    if (!map_) {
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0) {
          if (errno == EINTR) continue;
          ::close(fd);
          throw_runtime("error while reading file", {.file = path});
        }
        copy_.append(buf, static_cast<size_t>(n));
      }
      size_ = copy_.size();
    }
    ::close(fd);
  }
  ~FileBytes() {
    if (map_) ::munmap(map_, size_);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  const char* data() const { return map_ ? static_cast<const char*>(map_) : copy_.data(); }
  size_t size() const { return size_; }

 private:
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string copy_;
};

struct Chunk {
  size_t begin = 0, end = 0;  // byte range, whole lines
  EloBattlesBuilder battles;
  EloBattles finished;
  size_t bad_line = std::string::npos;  // offset of the first line the full parser refused
  std::exception_ptr error;             // any other failure
};

// The line [begin, end) with its trailing \r dropped (as for_each_jsonl does); empty when blank.
std::string_view line_text(const char* data, size_t begin, size_t end) {
  if (end > begin && data[end - 1] == '\r') --end;
  for (size_t i = begin; i < end; ++i)
    if (data[i] != ' ' && data[i] != '\t') return {data + begin, end - begin};
  return {};
}

void parse_chunk(const char* data, const std::string& path, Chunk& c) {
  size_t pos = c.begin;
  try {
    c.battles.reserve((c.end - c.begin) / 64 + 1);
    EloFields f;
    while (pos < c.end) {
      const char* nl = static_cast<const char*>(std::memchr(data + pos, '\n', c.end - pos));
      const size_t stop = nl ? static_cast<size_t>(nl - data) : c.end;
      const std::string_view line = line_text(data, pos, stop);
      if (!line.empty()) {
        if (scan_battle(line.data(), line.data() + line.size(), f)) {
          c.battles.add(f.model_a, f.model_b, f.winner, f.category);
        } else {
          Battle b;
          try {
            b = parse_battle_line(std::string(line), path, 0);
          } catch (const Error&) {
            c.bad_line = pos;  // reported once its line number is known
            return;
          }
          c.battles.add(b.model_a, b.model_b, b.winner, b.category);
        }
      }
      pos = stop + 1;
    }
    c.finished = std::move(c.battles).finish();
  } catch (...) {
    c.error = std::current_exception();
  }
}

}  // namespace

EloBattles read_elo_battles(const std::string& path, int threads) {
  const FileBytes file(path);
  const char* data = file.data();
  const size_t size = file.size();
  size_t first = 0;
  while (first < size && (data[first] == ' ' || data[first] == '\t' || data[first] == '\r' || data[first] == '\n')) ++first;
  if (first < size && data[first] == '[') return to_elo_battles(read_battles(path));

  int n_threads = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  n_threads = std::max(1, n_threads);
  // Chunks of whole lines, a few per thread.
  const size_t n_chunks = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(n_threads) * 4, size / 65536 + 1));
  std::vector<Chunk> chunks(n_chunks);
  size_t start = 0;
  for (size_t k = 0; k < n_chunks; ++k) {
    size_t stop = k + 1 == n_chunks ? size : std::max(start, size * (k + 1) / n_chunks);
    if (stop < size) {
      const void* nl = std::memchr(data + stop, '\n', size - stop);
      stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) + 1 : size;
    }
    chunks[k].begin = start;
    chunks[k].end = stop;
    start = stop;
  }
  {
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t k = next++; k < n_chunks; k = next++) parse_chunk(data, path, chunks[k]);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::min<int>(n_threads, static_cast<int>(n_chunks)); ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
  }
  for (const Chunk& c : chunks) {  // the first bad line of the file wins
    if (c.error) std::rethrow_exception(c.error);
    if (c.bad_line != std::string::npos) {
      // Line numbers are counted only now, for the error: the full parser fails again,
      // this time naming file:line.
      const long line = 1 + static_cast<long>(std::count(data, data + c.bad_line, '\n'));
      const void* nl = std::memchr(data + c.bad_line, '\n', c.end - c.bad_line);
      const size_t stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) : c.end;
      parse_battle_line(std::string(line_text(data, c.bad_line, stop)), path, line);
      throw_invalid("battle line refused", {.file = path, .line = line});  // not reached
    }
  }
  std::vector<EloBattles> parts;
  parts.reserve(chunks.size());
  for (Chunk& c : chunks) parts.push_back(std::move(c.finished));
  return concat_elo_battles(std::move(parts));
}

}  // namespace fw::arena
