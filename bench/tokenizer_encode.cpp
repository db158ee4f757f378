// fw-bench-tokenizer — times fw::data::HfTokenizer::encode_batch over a corpus, the C++ side
// of bench/tokenizer_encode.py (which runs the `tokenizers` library on the same
// tokenizer.json and corpus).
//
//   fw-bench-tokenizer --tokenizer tokenizer.json --corpus corpus.json [--threads 1]
//                      [--warmup 1] [--reps 3] [--no-special] [--dump-ids FILE]
//
// corpus.json is a JSON list of strings (the documents). Prints one JSON line: bytes, docs,
// threads, tokens, load_s, and seconds (one per timed rep). --dump-ids writes every id of
// the last pass as int32 little-endian, documents in order (the driver compares it with the
// peer's).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_io.h"
#include "data/tokenizers/hf_tokenizer.h"

namespace {

void dump_ids(const std::vector<fw::data::Encoding>& encs, const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  for (const auto& e : encs) f.write(reinterpret_cast<const char*>(e.ids.data()), std::streamsize(4 * e.ids.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fw-bench-tokenizer: HfTokenizer::encode_batch throughput"};
  std::string tokenizer_path, corpus_path, dump_path;
  int threads = 1, warmup = 1, reps = 3;
  bool no_special = false;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json")->required();
  app.add_option("--corpus", corpus_path, "JSON list of documents")->required();
  app.add_option("--threads", threads, "encode_batch threads (0 = all cores)");
  app.add_option("--warmup", warmup, "untimed passes");
  app.add_option("--reps", reps, "timed passes");
  app.add_flag("--no-special", no_special, "add_special_tokens=false");
  app.add_option("--dump-ids", dump_path, "write the ids (int32 LE) here");
  CLI11_PARSE(app, argc, argv);
  try {
    const nlohmann::json corpus = fw::read_json_file(corpus_path);
    const auto docs = corpus.get<std::vector<std::string>>();
    size_t bytes = 0;
    for (const auto& d : docs) bytes += d.size();
    auto t0 = std::chrono::steady_clock::now();
    const auto tok = fw::data::HfTokenizer::load(tokenizer_path);
    const double load_s = seconds_since(t0);
    std::vector<fw::data::Encoding> out;
    for (int i = 0; i < warmup; ++i) out = tok.encode_batch(docs, !no_special, threads);
    std::vector<double> secs;
    for (int i = 0; i < reps; ++i) {
      t0 = std::chrono::steady_clock::now();
      out = tok.encode_batch(docs, !no_special, threads);
      secs.push_back(seconds_since(t0));
    }
    size_t tokens = 0;
    for (const auto& e : out) tokens += e.ids.size();
    if (!dump_path.empty()) dump_ids(out, dump_path);
    const nlohmann::json r = {{"bytes", bytes},   {"docs", docs.size()}, {"threads", threads},
                              {"tokens", tokens}, {"load_s", load_s},    {"seconds", secs}};
    std::cout << r.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "fw-bench-tokenizer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
