#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/tokenizer.h"
#include "tests/unit/data/tokenizer_fixture.h"

using fw::data::SpModelType;
using fw::data::Tokenizer;
using fw::data::TrainOptions;
using namespace fw::data::testing;

namespace {

const std::string kSpace = "\xe2\x96\x81";  // "▁"

std::vector<std::string> pieces(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tok.id_to_piece(id));
  return out;
}

// Runs `fn`, expects a fw::Error, and returns it.
template <class F>
fw::Error expect_error(F&& fn) {
  try {
    fn();
  } catch (const fw::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected fw::Error";
  return fw::Error(fw::ErrorKind::Runtime, "none");
}

bool ends_with(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

}  // namespace

TEST(Tokenizer, VocabSizeAndSpecialIds) {
  const Tokenizer& tok = shared_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 512);
  EXPECT_EQ(tok.unk_id(), 0);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.pad_id(), 3);
  EXPECT_EQ(tok.pad_or_eos_id(), 3);
  EXPECT_EQ(tok.id_to_piece(0), "<unk>");
  EXPECT_EQ(tok.id_to_piece(1), "<s>");
  EXPECT_EQ(tok.id_to_piece(2), "</s>");
  EXPECT_EQ(tok.id_to_piece(3), "<pad>");
  EXPECT_FALSE(tok.is_control(0));
  for (int32_t id : {1, 2, 3}) EXPECT_TRUE(tok.is_control(id)) << id;
  EXPECT_TRUE(tok.adds_dummy_prefix());
  EXPECT_EQ(tok.piece_to_id("<s>"), 1);
  EXPECT_EQ(tok.piece_to_id("<unk>"), 0);
  EXPECT_EQ(tok.piece_to_id("definitely-not-a-piece"), -1);
}

TEST(Tokenizer, RoundTripsTextExactly) {
  const Tokenizer& tok = shared_tokenizer();
  std::vector<std::string> texts = {
      "",
      " ",
      "What is 2 + 3? 2 + 3 = 5.",
      "  leading and trailing spaces  ",
      "double  space and\ttab\nand newline\r\n",
      "1234567890 + 9876543210 = 11111111100",
      "Hello, World! (really?) [yes] {no} #tag @user $5 50% a&b ~x^y | a\\b `code` _u_",
      "naïve café — “quotes” ‘single’ … ©®™",
      "日本語のテキストと中文",
      "emoji 🙂🚀 mixed with text 👍🏽",
      "Ωμέγα Здравствуйте مرحبا שלום नमस्ते",
      "\xc2\xa0non-breaking\xc2\xa0space and control \x01\x7f chars",
      "<|im_start|>user\nhi<|im_end|>\n",
      "<s> and </s> as plain text",
  };
  for (const auto& s : make_corpus()) texts.push_back(s);
  // Random strings over a mixed alphabet.
  const std::vector<std::string> alphabet = {"a", "Z", "7", " ", "  ", ".", ",", "!", "?", "é",
                                             "ß", "中", "🙂", "\n", "\t", "<", ">", "-", "_"};
  uint64_t state = 7;
  for (int i = 0; i < 200; ++i) {
    std::string s;
    int len = static_cast<int>(i % 23);
    for (int k = 0; k < len; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      s += alphabet[(state >> 33) % alphabet.size()];
    }
    texts.push_back(s);
  }
  for (const auto& s : texts) {
    auto ids = tok.encode(s);
    EXPECT_EQ(tok.decode(ids), s) << "text: " << s;
    for (int32_t id : ids) {
      EXPECT_NE(id, tok.unk_id()) << "unk in: " << s;  // byte fallback covers everything
      EXPECT_GE(id, 0);
      EXPECT_LT(id, tok.vocab_size());
    }
  }
}

TEST(Tokenizer, ByteFallbackAndSplitDigits) {
  const Tokenizer& tok = shared_tokenizer();
  auto p = pieces(tok, tok.encode_continuation("🙂"));
  EXPECT_EQ(p, (std::vector<std::string>{"<0xF0>", "<0x9F>", "<0x99>", "<0x82>"}));
  for (const auto& piece : pieces(tok, tok.encode("12345 + 67890"))) {
    int digits = 0;
    for (char c : piece) digits += (c >= '0' && c <= '9');
    EXPECT_LE(digits, 1) << "piece '" << piece << "' holds several digits";
  }
}

TEST(Tokenizer, EncodeAddsBosEosAndDecodeSkipsThem) {
  const Tokenizer& tok = shared_tokenizer();
  auto plain = tok.encode("The small garden.");
  auto ids = tok.encode("The small garden.", true, true);
  ASSERT_EQ(ids.size(), plain.size() + 2);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.back(), 2);
  EXPECT_EQ(std::vector<int32_t>(ids.begin() + 1, ids.end() - 1), plain);
  EXPECT_EQ(tok.decode(ids), "The small garden.");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{3, 3, 1}), "");  // pad and bos have no text
}

TEST(Tokenizer, ContinuationHasNoDummyPrefix) {
  const Tokenizer& tok = shared_tokenizer();
  auto first = pieces(tok, tok.encode("Hello"));
  auto cont = pieces(tok, tok.encode_continuation("Hello"));
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(cont.empty());
  EXPECT_EQ(first[0].rfind(kSpace, 0), 0u) << first[0];
  EXPECT_NE(cont[0].rfind(kSpace, 0), 0u) << cont[0];
  EXPECT_EQ(tok.encode_continuation(" Hello"), tok.encode("Hello"));
  // Splitting a string before a space and encoding the rest as a continuation gives the
  // same ids as encoding it whole.
  auto whole = tok.encode("What is 12 + 7? The answer is 19.");
  auto a = tok.encode("What is 12 + 7?");
  auto b = tok.encode_continuation(" The answer is 19.");
  a.insert(a.end(), b.begin(), b.end());
  EXPECT_EQ(a, whole);
}

TEST(Tokenizer, UserDefinedSymbolsAreSingleIds) {
  const Tokenizer& tok = shared_tokenizer();
  int32_t start = tok.piece_to_id("<|im_start|>");
  int32_t end = tok.piece_to_id("<|im_end|>");
  ASSERT_GE(start, 4);
  ASSERT_GE(end, 4);
  EXPECT_NE(start, end);
  EXPECT_EQ(tok.encode_continuation("<|im_start|>"), std::vector<int32_t>{start});
  auto ids = tok.encode_continuation("<|im_start|>user\nhi there<|im_end|>");
  EXPECT_EQ(ids.front(), start);
  EXPECT_EQ(ids.back(), end);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), start), 1);
  // The symbols are text, not control tokens: decode keeps them.
  EXPECT_FALSE(tok.is_control(start));
  EXPECT_EQ(tok.decode(ids), "<|im_start|>user\nhi there<|im_end|>");
  // Without the symbols the same text is many pieces.
  const Tokenizer& bare = bare_tokenizer();
  EXPECT_EQ(bare.piece_to_id("<|im_start|>"), -1);
  EXPECT_GT(bare.encode_continuation("<|im_start|>").size(), 1u);
}

TEST(Tokenizer, NoPadFallsBackToEos) {
  const Tokenizer& bare = bare_tokenizer();
  EXPECT_EQ(bare.pad_id(), -1);
  EXPECT_EQ(bare.eos_id(), 2);
  EXPECT_EQ(bare.pad_or_eos_id(), 2);
  EXPECT_EQ(bare.vocab_size(), 512);
}

TEST(Tokenizer, TrainingIsDeterministic) {
  std::string again = Tokenizer::train(shared_options());
  EXPECT_EQ(again, shared_tokenizer().serialized_model());
  Tokenizer tok2 = Tokenizer::from_serialized(again);
  for (const auto& s : make_corpus()) ASSERT_EQ(tok2.encode(s), shared_tokenizer().encode(s)) << s;

  TrainOptions uni = shared_options();
  uni.model_type = SpModelType::Unigram;
  uni.vocab_size = 400;
  std::string u1 = Tokenizer::train(uni);
  std::string u2 = Tokenizer::train(uni);
  EXPECT_EQ(u1, u2);
  Tokenizer ut = Tokenizer::from_serialized(u1);
  EXPECT_EQ(ut.vocab_size(), 400);
  EXPECT_NE(u1, again);
  const std::string s = "Ünïcode and 42 apples, please!";
  EXPECT_EQ(ut.decode(ut.encode(s)), s);
}

TEST(Tokenizer, CharModelSpellsEveryWord) {
  TrainOptions o = shared_options();
  o.model_type = SpModelType::Char;
  o.extra_flags = {{"hard_vocab_limit", "false"}};  // the vocabulary is the characters seen
  Tokenizer t = Tokenizer::from_serialized(Tokenizer::train(o));
  const std::string s = "the first letter of fox";
  const auto ids = t.encode(s);
  EXPECT_EQ(ids.size(), s.size() + 1);  // one piece per character, plus the dummy-prefix space
  EXPECT_EQ(t.decode(ids), s);
  EXPECT_LT(t.vocab_size(), shared_tokenizer().vocab_size());
  EXPECT_EQ(fw::data::sp_model_type_from_name("char"), SpModelType::Char);
  EXPECT_THROW(fw::data::sp_model_type_from_name("wordpiece"), fw::Error);
}

TEST(Tokenizer, TrainFromFilesWritesModelPath) {
  std::string dir = scratch_dir("train_files");
  auto corpus = make_corpus();
  std::string half1, half2;
  for (size_t i = 0; i < corpus.size(); ++i) (i < corpus.size() / 2 ? half1 : half2) += corpus[i] + "\n\n";
  write_file(dir + "/a.txt", half1);
  write_file(dir + "/b.txt", half2);
  TrainOptions o = shared_options();
  o.sentences.clear();
  o.input_files = {dir + "/a.txt", dir + "/b.txt"};
  o.model_path = dir + "/out/tokenizer.model";
  std::string proto = Tokenizer::train(o);
  ASSERT_TRUE(std::filesystem::exists(o.model_path));
  // Same sentences in the same order (blank lines skipped) -> the same model.
  EXPECT_EQ(proto, shared_tokenizer().serialized_model());
  Tokenizer loaded = Tokenizer::load(dir + "/out");
  EXPECT_EQ(loaded.serialized_model(), proto);
  EXPECT_EQ(loaded.source(), o.model_path);
}

TEST(Tokenizer, SaveAndLoad) {
  std::string dir = scratch_dir("save_load");
  shared_tokenizer().save(dir + "/tokenizer.model");
  Tokenizer from_file = Tokenizer::load(dir + "/tokenizer.model");
  Tokenizer from_dir = Tokenizer::load(dir);
  const std::string s = "The quiet river answers 7 * 8 = 56.";
  EXPECT_EQ(from_file.encode(s), shared_tokenizer().encode(s));
  EXPECT_EQ(from_dir.encode(s), shared_tokenizer().encode(s));
  EXPECT_EQ(from_dir.pad_id(), 3);
}

TEST(Tokenizer, LoadsHuggingFaceFolderSettings) {
  std::string dir = scratch_dir("hf_folder");
  bare_tokenizer().save(dir + "/tokenizer.model");
  nlohmann::json config = {
      {"bos_token", {{"content", "<s>"}, {"lstrip", false}, {"special", true}}},
      {"eos_token", "<|im_end|>"},
      {"pad_token", nullptr},
      {"added_tokens_decoder",
       {{"1", {{"content", "<s>"}, {"special", true}}},
        {"512", {{"content", "<|im_start|>"}, {"special", true}}},
        {"513", {{"content", "<|im_end|>"}, {"special", true}}},
        {"514", {{"content", "<tool>"}, {"special", false}}}}},
      {"chat_template", "{% for m in messages %}<|im_start|>...{% endfor %}"}};
  write_file(dir + "/tokenizer_config.json", config.dump(2));
  write_file(dir + "/special_tokens_map.json",
             nlohmann::json({{"pad_token", {{"content", "</s>"}}}, {"eos_token", "</s>"}}).dump());
  Tokenizer tok = Tokenizer::load(dir);
  EXPECT_EQ(tok.vocab_size(), 515);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 513);  // tokenizer_config.json wins over special_tokens_map.json
  EXPECT_EQ(tok.pad_id(), 2);    // from special_tokens_map.json (config says null)
  EXPECT_EQ(tok.piece_to_id("<|im_start|>"), 512);
  EXPECT_EQ(tok.id_to_piece(514), "<tool>");
  auto ids = tok.encode("<|im_start|>user call <tool> now<|im_end|>");
  EXPECT_EQ(ids.front(), 512);
  EXPECT_EQ(ids.back(), 513);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 514), 1);
  // Special added tokens are skipped by decode, others keep their text; the text around
  // them keeps its spaces.
  EXPECT_EQ(tok.decode(ids), "user call <tool> now");
  EXPECT_TRUE(tok.is_control(513));
  EXPECT_FALSE(tok.is_control(514));
  EXPECT_EQ(tok.encode("plain words"), bare_tokenizer().encode("plain words"));
}

TEST(Tokenizer, FolderErrorsNameTheFile) {
  std::string dir = scratch_dir("hf_bad_token");
  bare_tokenizer().save(dir + "/tokenizer.model");
  write_file(dir + "/tokenizer_config.json", R"({"pad_token": "<nope>"})");
  auto e = expect_error([&] { Tokenizer::load(dir); });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_TRUE(ends_with(e.context().file, "tokenizer_config.json")) << e.what();
  EXPECT_EQ(e.context().key, "pad_token");
  EXPECT_NE(std::string(e.what()).find("<nope>"), std::string::npos) << e.what();

  write_file(dir + "/tokenizer_config.json", R"({"eos_token": 5})");
  e = expect_error([&] { Tokenizer::load(dir); });
  EXPECT_EQ(e.context().key, "eos_token");

  write_file(dir + "/tokenizer_config.json", R"({"added_tokens_decoder": {"x": {"content": "a"}}})");
  e = expect_error([&] { Tokenizer::load(dir); });
  EXPECT_EQ(e.context().key, "added_tokens_decoder.x");

  write_file(dir + "/tokenizer_config.json", "{ not json");
  e = expect_error([&] { Tokenizer::load(dir); });
  EXPECT_TRUE(ends_with(e.context().file, "tokenizer_config.json")) << e.what();
}

TEST(Tokenizer, MissingOrCorruptModelErrors) {
  std::string dir = scratch_dir("missing");
  auto e = expect_error([&] { Tokenizer::load(dir + "/nope.model"); });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().file, dir + "/nope.model");

  e = expect_error([&] { Tokenizer::load(dir); });  // folder without tokenizer.json or tokenizer.model
  EXPECT_EQ(e.context().file, dir);
  EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos);

  write_file(dir + "/tokenizer.model", "this is not a sentencepiece model");
  e = expect_error([&] { Tokenizer::load(dir); });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().file, dir + "/tokenizer.model");
  EXPECT_NE(std::string(e.what()).find(dir + "/tokenizer.model"), std::string::npos) << e.what();

  const std::string& good = shared_tokenizer().serialized_model();
  write_file(dir + "/tokenizer.model", good.substr(0, good.size() / 2));  // truncated
  e = expect_error([&] { Tokenizer::load(dir + "/tokenizer.model"); });
  EXPECT_EQ(e.context().file, dir + "/tokenizer.model");
}

TEST(Tokenizer, BadIdsAndMissingSpecialsError) {
  const Tokenizer& tok = shared_tokenizer();
  EXPECT_THROW(tok.decode(std::vector<int32_t>{5, 512}), fw::Error);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{-1}), fw::Error);
  EXPECT_THROW(tok.id_to_piece(512), fw::Error);
  TrainOptions o = shared_options();
  o.bos_id = -1;
  o.pad_id = -1;
  Tokenizer no_bos = Tokenizer::from_serialized(Tokenizer::train(o));
  EXPECT_EQ(no_bos.bos_id(), -1);
  EXPECT_NO_THROW(no_bos.encode("hi", false, true));
  EXPECT_THROW(no_bos.encode("hi", true), fw::Error);
}

TEST(Tokenizer, TrainingErrors) {
  TrainOptions o = shared_options();
  o.vocab_size = 100000;
  auto e = expect_error([&] { Tokenizer::train(o); });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_NE(std::string(e.what()).find("ocabulary size"), std::string::npos) << e.what();

  o = shared_options();
  o.sentences.clear();
  o.input_files = {"/nonexistent/corpus.txt"};
  e = expect_error([&] { Tokenizer::train(o); });
  EXPECT_EQ(e.context().file, "/nonexistent/corpus.txt");

  o = shared_options();
  o.user_defined_symbols = {"a,b"};
  e = expect_error([&] { Tokenizer::train(o); });
  EXPECT_EQ(e.context().key, "user_defined_symbols");

  o = TrainOptions{};
  e = expect_error([&] { Tokenizer::train(o); });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
}
