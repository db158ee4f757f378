// flywheel tokenize MODEL_DIR [--file FILE.jsonl] [--add-special-tokens] [--decode] [--skip-special-tokens]
// JSONL in, JSONL out: {"text": ...} -> {"ids": [...], "tokens": [...]}, or with --decode
// {"ids": [...]} -> {"text": ...}. The folder's tokenizer.json (or tokenizer.model) is
// used as transformers' AutoTokenizer would; a folder of tokenizer files alone is enough.
#include <CLI/CLI.hpp>

#include <memory>

#include "apps/commands.h"
#include "apps/jsonl_filter.h"
#include "core/error.h"
#include "data/tokenizer.h"

namespace fw::apps {
namespace {

struct TokenizeFlags {
  std::string model_dir, file;
  bool add_special_tokens = false, decode = false, skip_special_tokens = false;
};

std::string encode_record(const data::Tokenizer& tok, const nlohmann::ordered_json& in, bool add_special) {
  if (!in.is_object() || !in.contains("text") || !in["text"].is_string())
    throw_invalid("expected {\"text\": string}", {.key = "text"});
  const data::TokensWithOffsets t = tok.encode_with_offsets(in["text"].get<std::string>(), add_special);
  nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
  for (int32_t id : t.ids) tokens.push_back(tok.id_to_piece(id));
  return json_line({{"ids", t.ids}, {"tokens", tokens}});
}

std::string decode_record(const data::Tokenizer& tok, const nlohmann::ordered_json& in, bool skip_special) {
  if (!in.is_object() || !in.contains("ids") || !in["ids"].is_array())
    throw_invalid("expected {\"ids\": [integers]}", {.key = "ids"});
  std::vector<int32_t> ids;
  for (const auto& v : in["ids"]) {
    if (!v.is_number_integer()) throw_invalid("expected integer ids", {.key = "ids"});
    const int64_t id = v.get<int64_t>();
    if (id < 0 || id >= tok.vocab_size())
      throw_invalid("id " + std::to_string(id) + " is outside the vocabulary (size " + std::to_string(tok.vocab_size()) + ")",
                    {.key = "ids"});
    ids.push_back(static_cast<int32_t>(id));
  }
  return json_line({{"text", tok.decode(ids, skip_special)}});
}

}  // namespace

Run add_tokenize_command(CLI::App& app) {
  auto f = std::make_shared<TokenizeFlags>();
  app.add_option("model_dir", f->model_dir, "model or tokenizer folder (tokenizer.json or tokenizer.model)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--file", f->file, "JSONL input (default: standard input)")->check(CLI::ExistingFile);
  app.add_flag("--add-special-tokens", f->add_special_tokens, "let the tokenizer add its own tokens (post-processor: bos, ...)");
  app.add_flag("--decode", f->decode, "read {\"ids\": [...]} and write {\"text\": ...}");
  app.add_flag("--skip-special-tokens", f->skip_special_tokens, "when decoding, leave special tokens out");
  return [f] {
    const data::Tokenizer tok = data::Tokenizer::load(f->model_dir);
    const int failed = filter_jsonl(f->file, [&](const nlohmann::ordered_json& in) {
      return f->decode ? decode_record(tok, in, f->skip_special_tokens) : encode_record(tok, in, f->add_special_tokens);
    });
    if (failed > 0)
      throw_invalid(std::to_string(failed) + " line(s) could not be " + (f->decode ? "decoded" : "encoded") +
                        " (each named above; the others were written)",
                    {.file = f->file.empty() ? "<stdin>" : f->file});
  };
}

}  // namespace fw::apps
