// Reading and editing a sentencepiece model's serialized protobuf without the protobuf
// library (Debian's sentencepiece package ships no .pb.h files): just enough of the wire
// format to read the normaliser flags and to make the "continuation" copy of a model
// that encodes text without the dummy-prefix space (see tokenizer.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fw::data {

struct NormalizerFlags {
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
};

// The flags of ModelProto.normalizer_spec; defaults if the bytes cannot be parsed.
NormalizerFlags read_normalizer_flags(std::string_view proto);

// The model with add_dummy_prefix = remove_extra_whitespaces = false (self_test_data
// dropped: its expected outputs assume the prefix); nullopt if the bytes cannot be parsed.
std::optional<std::string> continuation_proto(std::string_view proto);

}  // namespace fw::data
