#include "data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "data/sentencepiece_proto.h"
#include "data/tokenizers/hf_tokenizer.h"

namespace fw::data {

namespace fs = std::filesystem;
using sentencepiece::SentencePieceProcessor;

namespace {

// A special-token entry of tokenizer_config.json / special_tokens_map.json: "<s>",
// {"content": "<s>", ...} or null. Returns "" for null/absent.
std::string token_string(const nlohmann::json& j, const std::string& key, const std::string& file) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  throw_invalid("expected a token string or an object with a \"content\" string",
                {.file = file, .key = key});
}

}  // namespace

// ---- Impl -------------------------------------------------------------------------------

struct Tokenizer::Impl {
  std::string source;
  std::string proto;                   // tokenizer.model or tokenizer.json bytes
  std::optional<HfTokenizer> hf;       // set: a tokenizer.json (sp below is null)
  std::unique_ptr<SentencePieceProcessor> sp;
  std::unique_ptr<SentencePieceProcessor> cont;  // continuation encoder; null = use sp
  bool dummy_prefix = true;
  int32_t sp_size = 0;
  int32_t vocab = 0;
  int32_t unk = -1, bos = -1, eos = -1, pad = -1;

  // Added tokens (Hugging Face) that are not the same piece at the same id in the model.
  std::map<int32_t, std::string> extra_by_id;
  std::unordered_map<std::string, int32_t> extra_by_content;
  std::vector<std::string> extra_contents;  // longest first, for matching in text
  // For encode_with_offsets (a rendered chat template): the added tokens and the model's
  // own control pieces (<s>, </s>, ...), which sentencepiece never matches in text.
  std::vector<std::string> rendered_contents;
  std::unordered_map<std::string, int32_t> rendered_by_content;
  std::set<int32_t> special;                // control ids beyond sentencepiece's own
  std::vector<std::string> special_strings;  // the control tokens' text, longest first

  // Fills special_strings once the special tokens are known.
  void collect_special_strings();

  // Loads the model bytes (no folder settings yet); errors name `source`.
  static std::shared_ptr<Impl> create(std::string model_proto, const std::string& source);
  static std::shared_ptr<Impl> create_hf(std::string json_text, const std::string& source);
  // Reads the Hugging Face files of a model folder: added tokens and special tokens.
  void apply_hf_folder(const fs::path& dir);

  bool is_extra(int32_t id) const { return extra_by_id.count(id) > 0; }

  bool is_control(int32_t id) const {
    if (special.count(id)) return true;
    if (hf) return hf->is_special(id);
    if (is_extra(id) || id < 0 || id >= sp_size) return false;
    return sp->IsControl(id);
  }

  int32_t piece_to_id(std::string_view piece) const {
    if (hf) return hf->token_to_id(piece);
    auto it = extra_by_content.find(std::string(piece));
    if (it != extra_by_content.end()) return it->second;
    int id = sp->PieceToId(piece);
    if (id == sp->unk_id() && piece != sp->IdToPiece(id)) return -1;
    return id;
  }

  // Encodes with `first` for the text before the first added token and the continuation
  // encoder after each one (as sentencepiece treats its own user-defined symbols).
  std::vector<int32_t> encode(std::string_view text, const SentencePieceProcessor* first) const {
    if (hf) return hf->encode_ids(text, /*add_special_tokens=*/false);
    std::vector<int32_t> out;
    for_each_chunk(text, first, extra_contents, extra_by_content, [&](std::string_view chunk, size_t, const SentencePieceProcessor& proc) {
      std::vector<int> ids;
      auto st = proc.Encode(chunk, &ids);
      if (!st.ok()) throw_runtime("sentencepiece encode failed: " + st.ToString(), {.file = source});
      out.insert(out.end(), ids.begin(), ids.end());
    }, [&](int32_t id, size_t, size_t) { out.push_back(id); });
    return out;
  }

  TokensWithOffsets encode_with_offsets(std::string_view text, bool add_special_tokens) const {
    TokensWithOffsets out;
    if (hf) {
      Encoding e = hf->encode(text, add_special_tokens);
      out.ids = std::move(e.ids);
      out.offsets = std::move(e.offsets);
      return out;
    }
    if (add_special_tokens && bos >= 0) {
      out.ids.push_back(bos);
      out.offsets.emplace_back(0, 0);
    }
    for_each_chunk(text, sp.get(), rendered_contents, rendered_by_content,
                   [&](std::string_view chunk, size_t base, const SentencePieceProcessor& proc) {
      const auto pieces = proc.EncodeAsImmutableProto(chunk);
      for (const auto& p : pieces.pieces()) {
        out.ids.push_back(static_cast<int32_t>(p.id()));
        out.offsets.emplace_back(static_cast<uint32_t>(base + p.begin()), static_cast<uint32_t>(base + p.end()));
      }
    }, [&](int32_t id, size_t begin, size_t end) {
      out.ids.push_back(id);
      out.offsets.emplace_back(static_cast<uint32_t>(begin), static_cast<uint32_t>(end));
    });
    return out;
  }

  // Splits `text` at the tokens of `split_at` (longest first; their ids in `ids`):
  // plain(chunk, its offset, the encoder for it) for the text between them — `first`
  // before the first token and the continuation encoder after each one (as sentencepiece
  // treats its own user-defined symbols) — and added(id, begin, end) for each token.
  template <class Plain, class Added>
  void for_each_chunk(std::string_view text, const SentencePieceProcessor* first,
                      const std::vector<std::string>& split_at, const std::unordered_map<std::string, int32_t>& ids,
                      Plain plain, Added added) const {
    const auto& extra_contents = split_at;
    const auto& extra_by_content = ids;
    const SentencePieceProcessor* proc = first;
    auto encode_plain = [&](std::string_view chunk, size_t base) {
      if (!chunk.empty()) plain(chunk, base, *proc);
    };
    size_t pos = 0;
    while (!extra_contents.empty() && pos < text.size()) {
      size_t best = std::string_view::npos;
      const std::string* best_tok = nullptr;
      for (const auto& tok : extra_contents) {  // longest first: ties keep the longest
        size_t at = text.find(tok, pos);
        if (at < best) {
          best = at;
          best_tok = &tok;
        }
      }
      if (!best_tok) break;
      encode_plain(text.substr(pos, best - pos), pos);
      added(extra_by_content.at(*best_tok), best, best + best_tok->size());
      pos = best + best_tok->size();
      proc = cont ? cont.get() : sp.get();
    }
    const size_t rest = std::min(pos, text.size());
    encode_plain(text.substr(rest), rest);
  }
};

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

std::shared_ptr<Tokenizer::Impl> Tokenizer::Impl::create(std::string model_proto,
                                                         const std::string& source) {
  auto impl = std::make_shared<Impl>();
  impl->source = source;
  impl->sp = std::make_unique<SentencePieceProcessor>();
  auto st = impl->sp->LoadFromSerializedProto(model_proto);
  if (!st.ok())
    throw_invalid("not a valid sentencepiece model (" + st.ToString() + ")",
                  {.file = source, .hint = "expected a tokenizer.model file as written by "
                                           "sentencepiece or Hugging Face"});
  impl->sp_size = impl->sp->GetPieceSize();
  impl->vocab = impl->sp_size;
  impl->unk = impl->sp->unk_id();
  impl->bos = impl->sp->bos_id();
  impl->eos = impl->sp->eos_id();
  impl->pad = impl->sp->pad_id();
  NormalizerFlags flags = read_normalizer_flags(model_proto);
  impl->dummy_prefix = flags.add_dummy_prefix;
  if (flags.add_dummy_prefix || flags.remove_extra_whitespaces) {
    if (auto edited = continuation_proto(model_proto)) {
      auto cont = std::make_unique<SentencePieceProcessor>();
      if (cont->LoadFromSerializedProto(*edited).ok()) impl->cont = std::move(cont);
    }
    if (!impl->cont)
      throw_invalid("cannot derive the continuation encoder from this sentencepiece model",
                    {.file = source});
  }
  impl->proto = std::move(model_proto);
  return impl;
}

std::shared_ptr<Tokenizer::Impl> Tokenizer::Impl::create_hf(std::string json_text, const std::string& source) {
  auto impl = std::make_shared<Impl>();
  impl->source = source;
  impl->hf = HfTokenizer::from_json(json_text, source);
  impl->proto = std::move(json_text);
  impl->vocab = impl->hf->vocab_size();
  impl->dummy_prefix = false;
  return impl;
}

Tokenizer Tokenizer::from_serialized(std::string model_proto, const std::string& source) {
  auto impl = Impl::create(std::move(model_proto), source);
  impl->collect_special_strings();
  return Tokenizer(std::move(impl));
}

void Tokenizer::Impl::apply_hf_folder(const fs::path& dir) {
  Impl& impl = *this;
  const std::string config_path = (dir / "tokenizer_config.json").string();
  const std::string map_path = (dir / "special_tokens_map.json").string();
  const std::string added_path = (dir / "added_tokens.json").string();
  nlohmann::json config = fs::exists(config_path) ? read_json_file(config_path) : nlohmann::json();
  nlohmann::json smap = fs::exists(map_path) ? read_json_file(map_path) : nlohmann::json();

  // Added tokens: (id, content, special, where they came from).
  struct Added { int32_t id; std::string content; bool special; std::string file; std::string key; };
  std::vector<Added> added;
  if (fs::exists(added_path)) {
    auto j = read_json_file(added_path);
    if (!j.is_object()) throw_invalid("expected an object {token: id}", {.file = added_path});
    for (const auto& [content, id] : j.items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        throw_invalid("expected a non-negative integer id", {.file = added_path, .key = content});
      added.push_back({id.get<int32_t>(), content, false, added_path, content});
    }
  }
  if (config.is_object() && config.contains("added_tokens_decoder")) {
    const auto& dec = config["added_tokens_decoder"];
    if (!dec.is_object())
      throw_invalid("expected an object {id: {\"content\": ...}}",
                    {.file = config_path, .key = "added_tokens_decoder"});
    for (const auto& [key, tok] : dec.items()) {
      const std::string where = "added_tokens_decoder." + key;
      char* end = nullptr;
      long long id = std::strtoll(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || id < 0 || id > INT32_MAX)
        throw_invalid("expected a non-negative integer id as key", {.file = config_path, .key = where});
      if (!tok.is_object() || !tok.contains("content") || !tok["content"].is_string())
        throw_invalid("expected an object with a \"content\" string", {.file = config_path, .key = where});
      bool special = tok.contains("special") && tok["special"].is_boolean() && tok["special"].get<bool>();
      added.push_back({static_cast<int32_t>(id), tok["content"].get<std::string>(), special,
                       config_path, where});
    }
  }
  if (impl.hf) added.clear();  // tokenizer.json's own added_tokens hold them (and win, as in transformers)
  for (const auto& a : added) {
    if (a.content.empty()) throw_invalid("added token with empty content", {.file = a.file, .key = a.key});
    bool native = a.id < impl.sp_size && impl.sp->IdToPiece(a.id) == a.content;
    if (!native) {
      auto prev = impl.extra_by_content.find(a.content);
      if (prev != impl.extra_by_content.end() && prev->second != a.id)
        throw_invalid("token '" + a.content + "' is given two ids (" +
                          std::to_string(prev->second) + " and " + std::to_string(a.id) + ")",
                      {.file = a.file, .key = a.key});
      auto old = impl.extra_by_id.find(a.id);
      if (old != impl.extra_by_id.end() && old->second != a.content)
        throw_invalid("id " + std::to_string(a.id) + " is given two tokens ('" + old->second +
                          "' and '" + a.content + "')",
                      {.file = a.file, .key = a.key});
      impl.extra_by_id[a.id] = a.content;
      impl.extra_by_content[a.content] = a.id;
      impl.vocab = std::max(impl.vocab, a.id + 1);
    }
    if (a.special) impl.special.insert(a.id);
  }
  for (const auto& [content, id] : impl.extra_by_content) impl.extra_contents.push_back(content);
  std::sort(impl.extra_contents.begin(), impl.extra_contents.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() != b.size() ? a.size() > b.size() : a < b;
            });

  // Special token strings: tokenizer_config.json first, then special_tokens_map.json.
  struct Slot { const char* key; int32_t* id; bool control; };
  for (Slot slot : {Slot{"bos_token", &impl.bos, true}, Slot{"eos_token", &impl.eos, true},
                    Slot{"pad_token", &impl.pad, true}, Slot{"unk_token", &impl.unk, false}}) {
    std::string file = config_path;
    std::string tok = token_string(config, slot.key, config_path);
    if (tok.empty()) {
      tok = token_string(smap, slot.key, map_path);
      file = map_path;
    }
    if (tok.empty()) continue;
    int32_t id = impl.piece_to_id(tok);
    if (id < 0)
      throw_invalid(std::string(slot.key) + " '" + tok + "' is not in the vocabulary",
                    {.file = file, .key = slot.key,
                     .hint = "add it to added_tokens_decoder or retrain the tokenizer with it"});
    *slot.id = id;
    if (slot.control) impl.special.insert(id);
  }
}

Tokenizer Tokenizer::load(const std::string& path_or_dir) {
  fs::path p(path_or_dir);
  std::error_code ec;
  bool is_dir = fs::is_directory(p, ec);
  fs::path model = is_dir ? p / "tokenizer.json" : p;
  if (is_dir && !fs::exists(model, ec)) model = p / "tokenizer.model";
  if (!fs::exists(model, ec)) {
    if (is_dir)
      throw_invalid("model folder has neither tokenizer.json nor tokenizer.model", {.file = p.string()});
    throw_invalid("tokenizer file not found", {.file = model.string()});
  }
  auto impl = model.extension() == ".json" ? Impl::create_hf(read_text_file(model.string()), model.string())
                                           : Impl::create(read_text_file(model.string()), model.string());
  if (is_dir) impl->apply_hf_folder(p);
  impl->collect_special_strings();
  return Tokenizer(std::move(impl));
}

// ---- Encoding and decoding --------------------------------------------------------------

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<int32_t> out;
  if (add_bos) {
    if (impl_->bos < 0) throw_invalid("add_bos: the tokenizer has no bos token", {.file = impl_->source});
    out.push_back(impl_->bos);
  }
  auto body = impl_->encode(text, impl_->sp.get());
  out.insert(out.end(), body.begin(), body.end());
  if (add_eos) {
    if (impl_->eos < 0) throw_invalid("add_eos: the tokenizer has no eos token", {.file = impl_->source});
    out.push_back(impl_->eos);
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode_continuation(std::string_view text) const {
  return impl_->encode(text, impl_->cont ? impl_->cont.get() : impl_->sp.get());
}

TokensWithOffsets Tokenizer::encode_with_offsets(std::string_view text, bool add_special_tokens) const {
  return impl_->encode_with_offsets(text, add_special_tokens);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  if (m.hf) {
    std::vector<int32_t> kept;
    for (int32_t id : ids) {
      if (id < 0 || id >= m.vocab)
        throw_invalid("token id " + std::to_string(id) + " is outside the vocabulary (size " + std::to_string(m.vocab) + ")",
                      {.file = m.source});
      if (!skip_special_tokens || !m.is_control(id)) kept.push_back(id);
    }
    return m.hf->decode(kept, skip_special_tokens);
  }
  std::string out;
  std::vector<int> run;
  bool first_run = true;
  auto flush = [&] {
    if (run.empty()) return;
    std::string text;
    auto st = m.sp->Decode(run, &text);
    if (!st.ok()) throw_runtime("sentencepiece decode failed: " + st.ToString(), {.file = m.source});
    // Sentencepiece drops the dummy-prefix space at the start of each call; only the
    // start of the whole text has one.
    if (!first_run && m.dummy_prefix) {
      const std::string piece = m.sp->IdToPiece(run.front());
      if (piece.rfind("\xe2\x96\x81", 0) == 0) text.insert(0, " ");
    }
    out += text;
    run.clear();
    first_run = false;
  };
  for (int32_t id : ids) {
    if (id < 0 || id >= m.vocab || (id >= m.sp_size && !m.is_extra(id)))
      throw_invalid("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                        std::to_string(m.vocab) + ")",
                    {.file = m.source});
    if (m.is_control(id) && skip_special_tokens) continue;
    if (m.is_control(id) && !m.is_extra(id)) {
      flush();
      out += m.sp->IdToPiece(id);
      first_run = false;
      continue;
    }
    if (m.is_extra(id)) {
      flush();
      out += m.extra_by_id.at(id);
      first_run = false;
      continue;
    }
    run.push_back(id);
  }
  flush();
  return out;
}

std::string Tokenizer::id_to_piece(int32_t id) const {
  if (impl_->hf) {
    if (auto t = impl_->hf->id_to_token(id)) return *t;
    throw_invalid("no token with id " + std::to_string(id) + " (vocabulary size " + std::to_string(impl_->vocab) + ")",
                  {.file = impl_->source});
  }
  auto it = impl_->extra_by_id.find(id);
  if (it != impl_->extra_by_id.end()) return it->second;
  if (id < 0 || id >= impl_->sp_size)
    throw_invalid("no token with id " + std::to_string(id) + " (vocabulary size " +
                      std::to_string(impl_->vocab) + ")",
                  {.file = impl_->source});
  return impl_->sp->IdToPiece(id);
}

int32_t Tokenizer::piece_to_id(std::string_view piece) const { return impl_->piece_to_id(piece); }
int32_t Tokenizer::vocab_size() const { return impl_->vocab; }
int32_t Tokenizer::unk_id() const { return impl_->unk; }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
int32_t Tokenizer::pad_id() const { return impl_->pad; }
int32_t Tokenizer::pad_or_eos_id() const { return impl_->pad >= 0 ? impl_->pad : impl_->eos; }
bool Tokenizer::is_control(int32_t id) const { return impl_->is_control(id); }
bool Tokenizer::adds_dummy_prefix() const { return impl_->dummy_prefix; }
const std::string& Tokenizer::serialized_model() const { return impl_->proto; }
TokenizerFormat Tokenizer::format() const { return impl_->hf ? TokenizerFormat::TokenizerJson : TokenizerFormat::SentencePiece; }
const char* Tokenizer::file_name() const { return impl_->hf ? "tokenizer.json" : "tokenizer.model"; }

const std::vector<std::string>& Tokenizer::special_token_strings() const { return impl_->special_strings; }

void Tokenizer::Impl::collect_special_strings() {
  special_strings.clear();
  rendered_contents = extra_contents;
  rendered_by_content = extra_by_content;
  if (sp)
    for (int32_t id = 0; id < sp_size; ++id)
      if (sp->IsControl(id) && !sp->IdToPiece(id).empty() && !rendered_by_content.count(sp->IdToPiece(id))) {
        rendered_by_content[sp->IdToPiece(id)] = id;
        rendered_contents.push_back(sp->IdToPiece(id));
      }
  std::sort(rendered_contents.begin(), rendered_contents.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  for (int32_t id = 0; id < vocab; ++id) {
    if (!is_control(id)) continue;
    if (hf) {
      if (auto t = hf->id_to_token(id)) special_strings.push_back(*t);
    } else if (auto it = extra_by_id.find(id); it != extra_by_id.end()) {
      special_strings.push_back(it->second);
    } else if (id < sp_size) {
      special_strings.push_back(sp->IdToPiece(id));
    }
  }
  std::stable_sort(special_strings.begin(), special_strings.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}
const std::string& Tokenizer::source() const { return impl_->source; }

void Tokenizer::save(const std::string& path) const {
  fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  write_file_atomic(path, impl_->proto);
}

// ---- Training ---------------------------------------------------------------------------

namespace {

// Streams the training text: each file's lines in order, then the in-memory sentences.
class TrainingText : public sentencepiece::SentenceIterator {
 public:
  TrainingText(const std::vector<std::string>& files, const std::vector<std::string>& sentences)
      : files_(files), sentences_(sentences) {
    advance();
  }
  bool done() const override { return done_; }
  void Next() override { advance(); }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override {
    if (error_.empty()) return {};
    return {sentencepiece::util::StatusCode::kInternal, error_};
  }
  const std::string& error_file() const { return error_file_; }
  const std::string& error() const { return error_; }

 private:
  void advance() {
    while (file_index_ < files_.size()) {
      if (!in_.is_open()) {
        in_.open(files_[file_index_], std::ios::binary);
        if (!in_) return fail("cannot open file");
      }
      if (std::getline(in_, value_)) {
        if (!value_.empty() && value_.back() == '\r') value_.pop_back();
        if (value_.empty()) continue;
        return;
      }
      if (in_.bad()) return fail("error while reading file");
      in_.close();
      ++file_index_;
    }
    while (sentence_index_ < sentences_.size()) {
      const std::string& s = sentences_[sentence_index_++];
      if (s.empty()) continue;
      value_ = s;
      return;
    }
    done_ = true;
  }
  void fail(const char* what) {
    error_ = what;
    error_file_ = files_[file_index_];
    done_ = true;
  }

  const std::vector<std::string>& files_;
  const std::vector<std::string>& sentences_;
  size_t file_index_ = 0, sentence_index_ = 0;
  std::ifstream in_;
  std::string value_;
  bool done_ = false;
  std::string error_, error_file_;
};

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

SpModelType sp_model_type_from_name(const std::string& name, const std::string& key) {
  return enum_from_name_or_throw<SpModelType>(name, key);
}

const char* sp_model_type_name(SpModelType type) { return name_of(type).data(); }  // the table's literals end in NUL

std::string Tokenizer::train(const TrainOptions& o) {
  if (o.input_files.empty() && o.sentences.empty())
    throw_invalid("tokenizer training needs text", {.key = "input_files",
                  .hint = "give input_files or sentences"});
  if (o.vocab_size <= 0)
    throw_invalid("vocab_size must be positive, got " + std::to_string(o.vocab_size), {.key = "vocab_size"});
  if (!(o.character_coverage > 0.0 && o.character_coverage <= 1.0))
    throw_invalid("character_coverage must be in (0, 1], got " + format_double(o.character_coverage),
                  {.key = "character_coverage"});
  if (o.unk_id < 0) throw_invalid("unk_id must be >= 0", {.key = "unk_id"});
  if (o.num_threads < 1) throw_invalid("num_threads must be >= 1", {.key = "num_threads"});
  for (const auto& s : o.user_defined_symbols)
    if (s.empty() || s.find(',') != std::string::npos)
      throw_invalid("user-defined symbol '" + s + "' must be non-empty and contain no comma",
                    {.key = "user_defined_symbols"});
  for (const auto& f : o.input_files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) throw_invalid("training text file not found", {.file = f});
  }

  std::string symbols;
  for (const auto& s : o.user_defined_symbols) symbols += (symbols.empty() ? "" : ",") + s;
  std::unordered_map<std::string, std::string> kw = {
      {"model_type", sp_model_type_name(o.model_type)},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", format_double(o.character_coverage)},
      {"byte_fallback", o.byte_fallback ? "true" : "false"},
      {"split_digits", o.split_digits ? "true" : "false"},
      {"normalization_rule_name", o.normalization_rule_name},
      {"add_dummy_prefix", "true"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"unk_id", std::to_string(o.unk_id)},
      {"bos_id", std::to_string(o.bos_id)},
      {"eos_id", std::to_string(o.eos_id)},
      {"pad_id", std::to_string(o.pad_id)},
      {"unk_piece", o.unk_piece},
      {"bos_piece", o.bos_piece},
      {"eos_piece", o.eos_piece},
      {"pad_piece", o.pad_piece},
      {"max_sentence_length", std::to_string(o.max_sentence_length)},
      {"input_sentence_size", std::to_string(o.input_sentence_size)},
      {"shuffle_input_sentence", o.input_sentence_size > 0 ? "true" : "false"},
      {"num_threads", std::to_string(o.num_threads)},
      {"minloglevel", o.verbose ? "0" : "2"},  // 2: errors only (they come back as status)
  };
  if (!symbols.empty()) kw["user_defined_symbols"] = symbols;
  for (const auto& [k, v] : o.extra_flags) kw[k] = v;
  if (o.input_sentence_size > 0) sentencepiece::SetRandomGeneratorSeed(o.seed);

  TrainingText text(o.input_files, o.sentences);
  std::string proto;
  auto st = sentencepiece::SentencePieceTrainer::Train(kw, &text, &proto);
  if (!text.error().empty()) throw_runtime(text.error(), {.file = text.error_file()});
  if (!st.ok())
    throw_invalid("sentencepiece training failed: " + st.ToString(),
                  {.file = o.model_path, .hint = "check vocab_size against the amount of text"});
  if (!o.model_path.empty()) {
    fs::path parent = fs::path(o.model_path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    write_file_atomic(o.model_path, proto);
  }
  return proto;
}

}  // namespace fw::data
