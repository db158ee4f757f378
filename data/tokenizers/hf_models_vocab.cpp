// Reading a {token: id} vocabulary object (BPE, WordPiece, WordLevel).
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {

TokenMap read_vocab_object(const json& j, const Where& w) {
  const json& v = required(j, "vocab", w);
  if (!v.is_object()) w.at("vocab").fail("expected an object of token: id");
  TokenMap vocab;
  vocab.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_number_integer())
      w.at("vocab").at(it.key()).fail("expected an integer id, got " + it.value().dump());
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > kMaxId) w.at("vocab").at(it.key()).fail("id " + std::to_string(id) + " is out of range");
    vocab.emplace(it.key(), static_cast<int32_t>(id));
  }
  return vocab;
}

}  // namespace fw::data::hf
