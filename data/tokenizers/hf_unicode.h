// UTF-8 and Unicode character properties for the tokenizer.json pipeline (data/tokenizers).
// Character classes follow the Rust definitions the Hugging Face `tokenizers` library uses
// (char::is_whitespace, char::is_numeric, ...), answered by ICU's property tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fw::data::hf {

// The code point at s[i] and its byte length. Invalid UTF-8 (a stray byte, an overlong or
// truncated sequence, a surrogate) decodes as U+FFFD with length 1.
char32_t decode_utf8(std::string_view s, size_t i, size_t* len);
void append_utf8(std::string& out, char32_t c);
size_t utf8_len(char32_t c);
// Bytes -> text, each maximal invalid subsequence replaced by one U+FFFD (as Rust's
// String::from_utf8_lossy does).
std::string utf8_lossy(std::string_view bytes);
bool is_valid_utf8(std::string_view s);
size_t count_chars(std::string_view s);

bool is_whitespace(char32_t c);     // White_Space (Rust char::is_whitespace)
bool is_numeric(char32_t c);        // Nd, Nl, No (Rust char::is_numeric)
bool is_alphabetic(char32_t c);     // Alphabetic
bool is_punctuation(char32_t c);    // ASCII punctuation or a P* category (tokenizers' is_punc)
bool is_control(char32_t c);        // Cc, Cf, Cn, Co (BertNormalizer; not \t \n \r)
bool is_mark_nonspacing(char32_t c);  // Mn (what strip_accents removes after NFD)
bool is_chinese_char(char32_t c);   // the CJK blocks BertNormalizer pads with spaces
bool is_word_char(char32_t c);      // Rust regex \w: Alphabetic, M, Nd, Pc, Join_Control
// Full lowercase mapping of one character (Rust char::to_lowercase), appended as UTF-8.
void append_lowercase(std::string& out, char32_t c);

}  // namespace fw::data::hf
