// Which bytes of a rendered conversation the assistant wrote, and which tokens lie wholly
// inside them: the assistant mask from character offsets, never from re-rendering and
// re-tokenizing prefixes (templates that rewrite earlier turns, as Qwen3 drops the
// reasoning of earlier turns, would break that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fw::data {

using ByteSpan = std::pair<size_t, size_t>;  // [begin, end) in the rendered text

// The assistant replies of `messages` in `text` (a template without {% generation %}
// blocks): for each assistant message in order, its reasoning_content and content found
// in `text` after the previous reply and the user and tool turns before it (system
// prompts are not used: templates move them), from the first of them (and the spaces just before
// it, as in "[/INST] {reply}") to the end of the content,
// then over what ends the turn — the first of `end_tokens` (eos, <|im_end|>, <|eot_id|>,
// <end_of_turn>, ...) that follows, with only white space between, taken with that
// white space. A message whose texts are all empty gives no span (a tool-call-only turn
// needs a template with {% generation %} blocks to be trained on). A reply not found in
// the text (a template that rewrites it) throws fw::Error naming `messages[i]`.
std::vector<ByteSpan> assistant_spans(std::string_view text, const nlohmann::ordered_json& messages,
                                      const std::vector<std::string>& end_tokens);

// 1 for each token whose offsets lie wholly inside one of `spans` (and are not empty), 0
// otherwise: a token that straddles a span's edge is not trained on. `offsets` are byte
// ranges of the text (as HfTokenizer::encode reports them); `spans` sorted, disjoint.
std::vector<uint8_t> mask_from_spans(const std::vector<std::pair<uint32_t, uint32_t>>& offsets,
                                     const std::vector<ByteSpan>& spans);

}  // namespace fw::data
