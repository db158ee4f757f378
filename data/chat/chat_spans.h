// Which bytes of a rendered conversation the assistant wrote, and which tokens lie inside
// them: the assistant mask from character offsets, never from re-rendering and
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

// One assistant reply's bytes, with the index of its message (-1: not known, e.g. a
// {% generation %} block that does not pair one-to-one with the assistant messages).
struct ReplySpan {
  int message = -1;
  ByteSpan bytes;
};

// The assistant replies of `messages` in `text` (a template without {% generation %}
// blocks), each searched after the previous reply and the user and tool turns before it
// (system prompts are not used: templates move them):
//   - the content, as the template shows it: trimmed as Python's strip, whole or, when the
//     template splits off inline reasoning (Qwen3), what follows the last "</think>". Of its
//     occurrences, the first one followed (after white space) by an end token wins, so a
//     reply "a" is not found in the template's own "assistant" header;
//   - the reasoning_content, when the template shows it before the content (Qwen3 drops
//     it from earlier turns: then the reply starts at the content);
//   - tool calls: a reply with tool_calls runs on to the first end token after it (a
//     reply whose content the template does not show — Llama-3.1 writes only the call —
//     starts at its first function name: exact tool-call masks need a template with
//     {% generation %} blocks; a template that shows nothing of the turn gives no span).
// A reply starts at the first of these (and the spaces just before it, as in
// "[/INST] {reply}") and ends after the first of `end_tokens` (eos, <|im_end|>,
// <|eot_id|>, ...) that follows with only white space between, taken with that white
// space. A reply whose texts are all empty gives no span. A reply not found in the text (a
// template that rewrites it) throws fw::Error naming `messages[i]`.
std::vector<ReplySpan> assistant_spans(std::string_view text, const nlohmann::ordered_json& messages,
                                       const std::vector<std::string>& end_tokens);

// 1 for each token whose offsets lie wholly inside one of `spans`, 0 otherwise: a token
// that straddles a span's edge is not trained on. A zero-width token (a byte-fallback
// piece before the last byte of its character) counts as inside when its position is.
// `offsets` are byte ranges of the text in order (as Tokenizer::encode_with_offsets gives
// them); `spans` sorted and disjoint.
std::vector<uint8_t> mask_from_spans(const std::vector<std::pair<uint32_t, uint32_t>>& offsets,
                                     const std::vector<ByteSpan>& spans);

}  // namespace fw::data
