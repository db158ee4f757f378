// Parity of the native tokenizer.json loader (data/tokenizers) with the installed Hugging
// Face `tokenizers`: tests/parity/hf_tokenizers_reference.py trains one tokenizer.json per
// style and component at test time and records what `tokenizers` gives on a corpus
// (multilingual, CJK, emoji, code, numbers, whitespace runs, CRLF, control and
// replacement characters, special-token strings typed by users). For every tokenizer and
// string: ids (with and without the post-processor's tokens), tokens, offsets, decode with
// and without skip_special_tokens, the streaming decoder's pieces, and decode(encode(x)) == x
// where the tokenizer is lossless.
//
// The same comparison runs on real vocabularies that PyPI packages ship (GPT-2 and Whisper's
// multilingual ranks from openai-whisper, Mistral's sentencepiece models from mistral-common,
// CLIP's merges from clip-anytorch), converted at test time by transformers' own converters
// (tests/parity/hf_real_vocabularies.py), over the corpus plus documents of the benchmark's
// mixed corpus; for those, ids with and without special tokens must also equal what
// transformers gives (the converting tokenizer, AutoTokenizer on the saved folder and
// PreTrainedTokenizerFast(tokenizer_file=...)).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/json_io.h"
#include "data/tokenizers/hf_tokenizer.h"
#include "tests/support/test_tmp.h"

namespace {
using nlohmann::json;

// The ctest fixture hf_tokenizers_reference writes the references once per ctest run
// (FW_BINARY_DIR/hf-tokenizers-ref, or FW_HF_TOKENIZERS_REF); a test binary run on its own
// without them makes its own.
const std::string& reference_dir() {
  static const std::string dir = [] {
    const char* env = std::getenv("FW_HF_TOKENIZERS_REF");
    const std::string shared = env ? env : std::string(FW_BINARY_DIR) + "/hf-tokenizers-ref";
    if (std::filesystem::exists(shared + "/reference.json")) return shared;
    const std::string d = fw::testing::tmp_dir() + "/hf_tokenizers." + std::to_string(getpid());
    const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR +
                            "/tests/parity/hf_tokenizers_reference.py " + d + " > /dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    return d;
  }();
  return dir;
}

const json& reference() {
  static const json ref = fw::read_json_file(reference_dir() + "/reference.json");
  return ref;
}

// tokenizers reports offsets in characters (BytesToCharOffsetConverter): a byte range maps
// to the characters holding its first and last byte.
std::vector<std::pair<uint32_t, uint32_t>> to_char_offsets(const std::string& text,
                                                           const std::vector<std::pair<uint32_t, uint32_t>>& offs) {
  std::vector<uint32_t> char_of(text.size());
  uint32_t c = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++c;
    char_of[i] = c;
  }
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (auto [b, e] : offs) {
    if (b == e) {
      out.emplace_back(b < text.size() ? char_of[b] : b, b < text.size() ? char_of[b] : e);
    } else if (b < text.size() && e - 1 < text.size()) {
      out.emplace_back(char_of[b], char_of[e - 1] + 1);
    } else {
      out.emplace_back(b, e);
    }
  }
  return out;
}

std::string show(const std::string& s) { return json(s).dump(); }

TEST(HfTokenizersParity, EveryTokenizerAndStringEqualsTokenizers) {
  const json& ref = reference();
  size_t strings = 0, checked_tokenizers = 0;
  for (const auto& t : ref) {
    const std::string name = t["name"];
    SCOPED_TRACE(name);
    const fw::data::HfTokenizer tok = fw::data::HfTokenizer::load(t["file"].get<std::string>());
    size_t failures = 0;
    for (const auto& c : t["cases"]) {
      const std::string text = c["text"];
      SCOPED_TRACE("text " + show(text));
      const fw::data::Encoding e = tok.encode(text, true);
      const auto ids = c["ids"].get<std::vector<int32_t>>();
      const auto tokens = c["tokens"].get<std::vector<std::string>>();
      const auto offsets = c["offsets"].get<std::vector<std::pair<uint32_t, uint32_t>>>();
      bool ok = true;
      ok &= e.ids == ids;
      EXPECT_EQ(e.ids, ids);
      ok &= e.tokens == tokens;
      EXPECT_EQ(e.tokens, tokens);
      const auto ours = to_char_offsets(text, e.offsets);
      ok &= ours == offsets;
      EXPECT_EQ(ours, offsets);
      const auto plain = tok.encode_ids(text, false);
      ok &= plain == c["ids_plain"].get<std::vector<int32_t>>();
      EXPECT_EQ(plain, c["ids_plain"].get<std::vector<int32_t>>());
      const std::string dec = tok.decode(ids, false), dec_skip = tok.decode(ids, true);
      ok &= dec == c["decode"].get<std::string>() && dec_skip == c["decode_skip"].get<std::string>();
      EXPECT_EQ(show(dec), show(c["decode"].get<std::string>()));
      EXPECT_EQ(show(dec_skip), show(c["decode_skip"].get<std::string>()));
      if (!c["stream"].is_null()) {
        fw::data::HfDecodeStream stream(tok, false);
        std::vector<std::string> pieces;
        for (int32_t id : ids) pieces.push_back(stream.step(id));
        ok &= pieces == c["stream"].get<std::vector<std::string>>();
        EXPECT_EQ(json(pieces).dump(), c["stream"].dump());
      }
      if (t["lossless"].get<bool>()) {
        const std::string round = tok.decode(tok.encode_ids(text, false), false);
        ok &= round == text;
        EXPECT_EQ(show(round), show(text));
      }
      ++strings;
      if (!ok && ++failures >= 5) {
        ADD_FAILURE() << name << ": stopping after 5 failing strings";
        break;
      }
    }
    ++checked_tokenizers;
  }
  std::cout << "[parity] " << checked_tokenizers << " tokenizer.json files, " << strings
            << " (tokenizer, string) pairs compared\n";
}

// The real vocabularies are there (a missing package fails here, naming it), and our ids
// equal transformers' through each of its entry points.
TEST(HfTokenizersParity, RealVocabulariesEqualTransformers) {
  const json status = fw::read_json_file(reference_dir() + "/real_status.json");
  ASSERT_TRUE(status["error"].is_null()) << "real vocabularies unavailable: " << status["error"].get<std::string>();
  const std::vector<std::string> expected = {"real_gpt2", "real_whisper_multilingual", "real_mistral_v1",
                                             "real_mistral_v3", "real_clip"};
  EXPECT_EQ(status["names"].get<std::vector<std::string>>(), expected);
  size_t compared = 0;
  for (const auto& t : reference()) {
    if (!t.value("real", false)) continue;
    SCOPED_TRACE(t["name"].get<std::string>());
    const fw::data::HfTokenizer tok = fw::data::HfTokenizer::load(t["file"].get<std::string>());
    size_t failures = 0;
    for (const auto& c : t["cases"]) {
      const std::string text = c["text"];
      const auto with = tok.encode_ids(text, true), plain = tok.encode_ids(text, false);
      bool ok = true;
      for (const auto& [key, ids] : c["transformers"].items()) {
        const bool is_plain = key.ends_with("_plain");
        const auto want = ids.get<std::vector<int32_t>>();
        ok &= (is_plain ? plain : with) == want;
        EXPECT_EQ(is_plain ? plain : with, want) << "transformers " << key << ", text " << show(text.substr(0, 80));
        ++compared;
      }
      if (!ok && ++failures >= 5) {
        ADD_FAILURE() << "stopping after 5 failing strings";
        break;
      }
    }
  }
  std::cout << "[parity] " << expected.size() << " real vocabularies, " << status["strings"].get<int>()
            << " strings each, " << compared << " transformers encodings compared\n";
}

TEST(HfTokenizersParity, BatchEncodingEqualsOneByOne) {
  const json& ref = reference();
  for (const auto& t : ref) {
    const fw::data::HfTokenizer tok = fw::data::HfTokenizer::load(t["file"].get<std::string>());
    std::vector<std::string> texts;
    for (const auto& c : t["cases"]) texts.push_back(c["text"]);
    const auto batch = tok.encode_batch(texts, true, 4);
    ASSERT_EQ(batch.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i].ids, tok.encode(texts[i]).ids) << t["name"];
  }
}

}  // namespace
