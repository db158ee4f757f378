// fw::data::HfTokenizer on small hand-written tokenizer.json files: hand-checked encodings,
// offsets and decoding; hostile files (truncated JSON, unknown component types, merges that
// name missing tokens, ids out of range, a catastrophically backtracking regex) give
// fw::Error naming the file and the JSON path; streaming never emits half a character;
// long inputs stay fast. Parity with the `tokenizers` library itself is in
// tests/parity/test_hf_tokenizers_parity.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "data/tokenizers/hf_components.h"
#include "data/tokenizers/hf_tokenizer.h"

namespace {
using fw::data::HfTokenizer;
using nlohmann::json;

// A byte-level BPE (GPT-2 style): the 256 byte characters plus merges for "he", "ll",
// "hell", "hello", "Ġw", "Ġwo" ... and <|endoftext|> as a special added token.
json byte_level_bpe() {
  json vocab = json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[fw::data::hf::byte_to_char(static_cast<uint8_t>(b))] = id++;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"Ġw", "o"}, {"r", "l"}, {"rl", "d"},
      {"Ġwo", "rld"}, {"a", "a"}, {"aa", "aa"}};
  json m = json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    m.push_back(json::array({a, b}));
  }
  vocab["<|endoftext|>"] = id;
  return {{"version", "1.0"},
          {"added_tokens", json::array({{{"id", id}, {"content", "<|endoftext|>"}, {"single_word", false},
                                         {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}}})},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}}}};
}

HfTokenizer load(const json& j) { return HfTokenizer::from_json(j.dump(), "test/tokenizer.json"); }

std::string error_of(const std::string& text) {
  try {
    HfTokenizer::from_json(text, "bad/tokenizer.json");
  } catch (const fw::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HfTokenizer, ByteLevelBpeMergesByRankAndReportsByteOffsets) {
  const HfTokenizer tok = load(byte_level_bpe());
  const auto e = tok.encode("hello world<|endoftext|>é");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"hello", "Ġworld", "<|endoftext|>", "Ã", "©"}));
  // "é" is two bytes: both byte tokens cover the whole character.
  EXPECT_EQ(e.offsets, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 5}, {5, 11}, {11, 24}, {24, 26}, {24, 26}}));
  EXPECT_EQ(tok.decode(e.ids), "hello world<|endoftext|>é");
  EXPECT_EQ(tok.decode(e.ids, /*skip_special_tokens=*/true), "hello worldé");
  EXPECT_TRUE(tok.is_special(tok.token_to_id("<|endoftext|>")));
  EXPECT_EQ(tok.id_to_token(tok.token_to_id("hello")), "hello");
  EXPECT_EQ(tok.token_to_id("nope"), -1);
}

TEST(HfTokenizer, MergesAsStringsEqualMergesAsPairs) {
  json j = byte_level_bpe();
  const HfTokenizer pairs = load(j);
  for (auto& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const HfTokenizer strings = load(j);
  EXPECT_EQ(pairs.encode_ids("hello world aaaa"), strings.encode_ids("hello world aaaa"));
}

TEST(HfTokenizer, InvalidUtf8InputBecomesReplacementCharactersAlignedToTheirBytes) {
  const HfTokenizer tok = load(byte_level_bpe());
  const auto e = tok.encode(std::string("a\xff", 2));
  ASSERT_EQ(e.ids.size(), 4u);  // "a", then U+FFFD's three bytes
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{1, 2}));
}

// GPT-2's byte-level shape (ByteLevel with its regex, or Split + ByteLevel as Llama-3 and
// Qwen2 ship) is encoded without a NormalizedString per piece; it must give exactly what
// the general path gives (FLYWHEEL_BYTE_LEVEL_PATH=0), and other shapes must not take it.
TEST(HfTokenizer, ByteLevelPathEqualsTheGeneralPath) {
  static const std::string file = "test/tokenizer.json";
  const fw::data::hf::Where w{&file, "pre_tokenizer"};
  auto cut = [&](const json& pre) { return fw::data::hf::make_pre_tokenizer(pre, w)->byte_level_cut() != nullptr; };
  const json split = {{"type", "Split"}, {"pattern", {{"Regex", R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+| ?\p{L}+)"}}},
                      {"behavior", "Isolated"}, {"invert", false}};
  const json bytes = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  const json llama3 = {{"type", "Sequence"}, {"pretokenizers", json::array({split, bytes})}};
  EXPECT_TRUE(cut(byte_level_bpe()["pre_tokenizer"]));
  EXPECT_TRUE(cut(llama3));
  json prefix = byte_level_bpe()["pre_tokenizer"];
  prefix["add_prefix_space"] = true;
  json inverted = llama3, merged = llama3, regex_twice = llama3;
  inverted["pretokenizers"][0]["invert"] = true;
  merged["pretokenizers"][0]["behavior"] = "MergedWithPrevious";
  regex_twice["pretokenizers"][1]["use_regex"] = true;
  for (const json& other : {prefix, inverted, merged, regex_twice}) EXPECT_FALSE(cut(other)) << other.dump();

  json qwen2 = byte_level_bpe();  // Split + ByteLevel, an NFC normalizer, added tokens that strip
  qwen2["pre_tokenizer"] = llama3;
  qwen2["normalizer"] = {{"type", "NFC"}};
  qwen2["added_tokens"].push_back({{"id", 268}, {"content", "<tool>"}, {"single_word", false}, {"lstrip", true},
                                   {"rstrip", true}, {"normalized", false}, {"special", true}});
  qwen2["added_tokens"].push_back({{"id", 269}, {"content", "hi"}, {"single_word", true}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", true}, {"special", false}});
  const std::vector<std::string> texts = {
      "", "hello world<|endoftext|>é", "  hello   world \n\n\t x", "東京 🍕 naïve café 12345 x=3.14;",
      "a <tool> b<tool>c   <tool>\n", "hi there, hi! ship hi", "line\r\nnext\r\n", std::string("a\xff b\xc3", 5),
      "e\xcc\x81 (e + combining acute: NFC changes it)", "<|endoftext|><|endoftext|>hello"};
  for (const json& j : {byte_level_bpe(), qwen2}) {
    const HfTokenizer fast = load(j);
    ::setenv("FLYWHEEL_BYTE_LEVEL_PATH", "0", 1);
    const HfTokenizer general = load(j);
    ::unsetenv("FLYWHEEL_BYTE_LEVEL_PATH");
    for (int pass = 0; pass < 2; ++pass)  // the second from the per-thread piece cache
      for (const std::string& text : texts) {
        const auto a = fast.encode(text), b = general.encode(text);
        EXPECT_EQ(a.ids, b.ids) << text;
        EXPECT_EQ(a.tokens, b.tokens) << text;
        EXPECT_EQ(a.offsets, b.offsets) << text;
      }
  }
}

TEST(HfTokenizer, DecodeRefusesIdsOutOfRange) {
  const HfTokenizer tok = load(byte_level_bpe());
  const std::vector<int32_t> ids = {0, tok.vocab_size()};
  EXPECT_THROW(tok.decode(ids), fw::Error);
}

TEST(HfTokenizer, StreamingNeverEmitsHalfACharacter) {
  const HfTokenizer tok = load(byte_level_bpe());
  const std::string text = "hello 東京 🍕!";
  fw::data::HfDecodeStream stream(tok);
  std::string all;
  for (int32_t id : tok.encode_ids(text)) {
    const std::string piece = stream.step(id);
    EXPECT_TRUE(fw::data::hf::is_valid_utf8(piece)) << piece;
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos);
    all += piece;
  }
  EXPECT_EQ(all, text);
}

TEST(HfTokenizer, LongInputsStayFast) {
  const HfTokenizer tok = load(byte_level_bpe());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string no_spaces(1 << 20, 'a');  // one 1 MB word
  const auto ids = tok.encode_ids(no_spaces);
  EXPECT_EQ(ids.size(), (1u << 20) / 4);  // "aaaa" pieces
  const std::string spaces(100000, ' ');
  EXPECT_EQ(tok.decode(tok.encode_ids(spaces + "x")), spaces + "x");
  const std::string mixed = [] {
    std::string s;
    for (int i = 0; i < 50000; ++i) s += "ab\n";
    return s;
  }();
  EXPECT_EQ(tok.decode(tok.encode_ids(mixed)), mixed);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 20.0) << "quadratic somewhere?";
}

TEST(HfTokenizer, SentencepieceStyleBpeFallsBackToBytesAndFusesUnknowns) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"▁", 2}, {"h", 3}, {"i", 4}, {"▁h", 5}, {"▁hi", 6}};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    vocab[buf] = 7 + b;
  }
  const json j = {
      {"added_tokens", json::array()},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", "▁"}},
                                                                            {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}})}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
                                                                     {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                                     {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
      {"model", {{"type", "BPE"}, {"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true}, {"vocab", vocab},
                 {"merges", json::array({"▁ h", "▁h i"})}}}};
  const HfTokenizer tok = load(j);
  const auto e = tok.encode("hi é");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"▁hi", "▁", "<0xC3>", "<0xA9>"}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 2}, {2, 3}, {3, 5}, {3, 5}}));
  EXPECT_EQ(tok.decode(e.ids), "hi é");
}

TEST(HfTokenizer, HostileFilesGiveErrorsNamingFileAndPath) {
  const std::string good = byte_level_bpe().dump();
  EXPECT_NE(error_of(good.substr(0, good.size() / 2)).find("bad/tokenizer.json: not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("expected a JSON object"), std::string::npos);

  json j = byte_level_bpe();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", json::array({{{"type", "Digits"}}, {{"type", "Foo"}}})}};
  EXPECT_EQ(error_of(j.dump()), "bad/tokenizer.json: pre_tokenizer.pretokenizers[1].type: unknown \"Foo\"");

  j = byte_level_bpe();
  j["model"]["merges"].push_back(json::array({"zz", "q"}));
  EXPECT_NE(error_of(j.dump()).find("model.merges[11]: \"zz\" is not in the vocabulary"), std::string::npos)
      << error_of(j.dump());

  j = byte_level_bpe();
  j["model"]["merges"].push_back("h e l");
  EXPECT_NE(error_of(j.dump()).find("model.merges[11]: expected \"a b\""), std::string::npos);

  j = byte_level_bpe();
  j["model"]["vocab"]["huge"] = 4000000000LL;
  EXPECT_NE(error_of(j.dump()).find("model.vocab.huge: id 4000000000 is out of range"), std::string::npos)
      << error_of(j.dump());
  j = byte_level_bpe();
  j["model"]["vocab"]["neg"] = -1;
  EXPECT_NE(error_of(j.dump()).find("out of range"), std::string::npos);
  j = byte_level_bpe();
  j["model"]["vocab"]["dup"] = 0;
  EXPECT_NE(error_of(j.dump()).find("model.vocab: id 0 is given to both"), std::string::npos) << error_of(j.dump());
  j = byte_level_bpe();
  j["added_tokens"][0]["id"] = 1 << 22;
  EXPECT_NE(error_of(j.dump()).find("added_tokens: id 4194304"), std::string::npos) << error_of(j.dump());

  j = byte_level_bpe();
  j["model"].erase("merges");
  EXPECT_EQ(error_of(j.dump()), "bad/tokenizer.json: model.merges: missing");
  j = byte_level_bpe();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(error_of(j.dump()).find("pre_tokenizer.pattern.Regex: regex (unclosed does not compile"), std::string::npos)
      << error_of(j.dump());
  j = byte_level_bpe();
  j["normalizer"] = {{"type", "Strip"}, {"strip_left", "yes"}};
  EXPECT_NE(error_of(j.dump()).find("normalizer.strip_left: expected true or false"), std::string::npos);
  j = byte_level_bpe();
  j["decoder"] = {{"type", "CTC"}};
  EXPECT_EQ(error_of(j.dump()), "bad/tokenizer.json: decoder.type: unknown \"CTC\"");
}

TEST(HfTokenizer, CatastrophicRegexStopsWithAnError) {
  json j = byte_level_bpe();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", json::array({
      {{"type", "Split"}, {"pattern", {{"Regex", "(a|aa)+$|(x+x+)+y"}}}, {"behavior", "Isolated"}},
      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  const HfTokenizer tok = load(j);
  try {
    tok.encode(std::string(5000, 'x'));
    FAIL() << "no error";
  } catch (const fw::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("test/tokenizer.json: pre_tokenizer.pretokenizers[0].pattern.Regex"), std::string::npos) << what;
    EXPECT_NE(what.find("backtracks"), std::string::npos) << what;
  }
}

}  // namespace
