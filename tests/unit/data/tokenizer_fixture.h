// Shared test tokenizers for the data/ tests: trained once per test binary on a small,
// deterministic corpus made here (no downloads).
#pragma once

#include <string>
#include <vector>

#include "tests/support/test_tmp.h"
#include "data/tokenizer.h"

namespace fw::data::testing {

// A few hundred varied sentences: arithmetic, words, punctuation, capitals, chat phrases.
std::vector<std::string> make_corpus();

// The options of the shared tokenizer: BPE, 512 pieces, byte fallback,
// user-defined symbols <|im_start|> and <|im_end|>, unk 0 / bos 1 / eos 2 / pad 3.
TrainOptions shared_options();

// Trained once (shared_options()).
const Tokenizer& shared_tokenizer();

// Trained once: as shared_options() but without user-defined symbols and without pad.
const Tokenizer& bare_tokenizer();

// An empty scratch folder fw::testing::tmp_dir()/data/<name> (removed first if present).
std::string scratch_dir(const std::string& name);

// Writes `text` to `path`.
void write_file(const std::string& path, const std::string& text);

}  // namespace fw::data::testing
