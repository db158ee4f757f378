#include "tests/support/test_tmp.h"
#include "tests/unit/data/tokenizer_fixture.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fw::data::testing {

namespace {

// A tiny deterministic generator (the same sequence on every platform).
struct Lcg {
  uint64_t state;
  uint32_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[next() % v.size()]; }
};

}  // namespace

std::vector<std::string> make_corpus() {
  const std::vector<std::string> nouns = {
      "apple", "banana", "river", "mountain", "teacher", "student", "garden", "window",
      "computer", "number", "answer", "question", "sentence", "market", "village", "ocean",
      "forest", "engine", "library", "kitchen", "doctor", "planet", "morning", "evening"};
  const std::vector<std::string> verbs = {
      "sees", "likes", "finds", "counts", "builds", "reads", "writes", "moves",
      "opens", "closes", "carries", "paints", "answers", "helps", "visits", "follows"};
  const std::vector<std::string> adjectives = {
      "small", "large", "green", "quiet", "bright", "heavy", "simple", "careful",
      "happy", "ancient", "modern", "strange", "helpful", "friendly", "polite", "clever"};
  const std::vector<std::string> greetings = {
      "Hello!", "Hi there.", "Good morning.", "Thanks a lot!", "Sure, here it is:",
      "You are a helpful assistant.", "What is the answer?", "Please be brief.",
      "Say hello.", "Let me think...", "Of course; that works.", "Is it (really) true?"};
  const std::vector<std::string> ops = {"+", "-", "*"};
  Lcg rng{12345};
  std::vector<std::string> out;
  for (int i = 0; i < 200; ++i) {
    int a = static_cast<int>(rng.next() % 1000), b = static_cast<int>(rng.next() % 100);
    const std::string& op = rng.pick(ops);
    long r = op == "+" ? a + b : op == "-" ? a - b : static_cast<long>(a) * b;
    out.push_back("What is " + std::to_string(a) + " " + op + " " + std::to_string(b) + "? " +
                  std::to_string(a) + " " + op + " " + std::to_string(b) + " = " +
                  std::to_string(r) + ".");
  }
  for (int i = 0; i < 250; ++i) {
    std::string s = "The " + rng.pick(adjectives) + " " + rng.pick(nouns) + " " +
                    rng.pick(verbs) + " a " + rng.pick(adjectives) + " " + rng.pick(nouns);
    s += (i % 3 == 0) ? ", and the " + rng.pick(nouns) + " " + rng.pick(verbs) + " it." : ".";
    out.push_back(s);
  }
  for (int i = 0; i < 150; ++i)
    out.push_back(rng.pick(greetings) + " User: " + rng.pick(greetings) + " Assistant: " +
                  rng.pick(greetings) + " [" + rng.pick(nouns) + "] \"" + rng.pick(adjectives) +
                  "\" <" + rng.pick(verbs) + "/>");
  return out;
}

TrainOptions shared_options() {
  TrainOptions o;
  o.sentences = make_corpus();
  o.vocab_size = 512;
  o.user_defined_symbols = {"<|im_start|>", "<|im_end|>"};
  return o;
}

const Tokenizer& shared_tokenizer() {
  static const Tokenizer tok = Tokenizer::from_serialized(Tokenizer::train(shared_options()));
  return tok;
}

const Tokenizer& bare_tokenizer() {
  static const Tokenizer tok = [] {
    TrainOptions o = shared_options();
    o.user_defined_symbols.clear();
    o.pad_id = -1;
    return Tokenizer::from_serialized(Tokenizer::train(o));
  }();
  return tok;
}

std::string scratch_dir(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(fw::testing::tmp_dir()) / "data" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace fw::data::testing
