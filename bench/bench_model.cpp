// fw-bench-model --model DIR [--threads N] [--mode forward|generate|both] [shape flags]
//
// Throughput of flywheel's Llama-family decoder on one model folder, in the shapes
// bench/model_vs_transformers.py gives transformers:
//   forward   full logits of a [B,T] batch (fp32, eval, no grad); warm-up runs, then
//             timed repetitions; the median gives tokens/s = B*T / median seconds
//   generate  fw::rollout::generate, greedy, B prompts of length L, exactly N new tokens
//             each (no EOS); tokens/s = B*N / wall seconds of the whole call (prefill
//             included), median over repetitions
// Prints one JSON line with the figures. The prompts are a fixed pseudo-random sequence
// (bench_prompt_ids, mirrored in the Python script) so both sides run the same tokens;
// --dump-tokens writes our generations so the script can compare them with transformers'.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/checkpoint.h"
#include "rollout/generate.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Token ids in [3, vocab) from a 64-bit LCG (Knuth's MMIX constants), row-major over
// [rows, cols]. model_vs_transformers.py has the same function (bench_prompt_ids).
std::vector<std::vector<int64_t>> bench_prompt_ids(int64_t rows, int64_t cols, int64_t vocab, uint64_t seed) {
  uint64_t x = seed;
  std::vector<std::vector<int64_t>> out(rows, std::vector<int64_t>(cols));
  for (auto& row : out)
    for (auto& id : row) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      id = 3 + static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(vocab - 3));
    }
  return out;
}

at::Tensor to_tensor(const std::vector<std::vector<int64_t>>& ids) {
  const int64_t rows = static_cast<int64_t>(ids.size()), cols = static_cast<int64_t>(ids.front().size());
  at::Tensor t = at::empty({rows, cols}, at::kLong);
  for (int64_t r = 0; r < rows; ++r) std::copy(ids[r].begin(), ids[r].end(), t[r].data_ptr<int64_t>());
  return t;
}

struct Flags {
  std::string model_dir, mode = "both", dump_tokens;
  int threads = 2;
  int64_t batch = 8, seq = 128, warmup = 2, reps = 5;                        // forward
  int64_t gen_batch = 8, prompt_len = 32, new_tokens = 128, gen_warmup = 1, gen_reps = 3;  // generate
  int64_t gen_warmup_tokens = 8;  // new tokens of each warm-up generation (warms kernels, costs little)
  bool ragged = false;            // prompts of different lengths (left padding)
  uint64_t seed = 1234;
  std::string profile;   // forward | generate: one extra profiled run, per-op table on stderr
  int64_t profile_top = 25;
};

// Runs fn under the (CPU) kineto profiler and prints the ops by self time to stderr:
// name, calls, self ms, total ms (self = the event's time less its nested ops' time).
void profile_ops(const std::string& what, const std::function<void()>& fn, int64_t top) {
  namespace prof = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  const std::set<ActivityType> activities{ActivityType::CPU};
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
  const auto t0 = Clock::now();
  fn();
  const double wall = since(t0);
  auto result = prof::disableProfiler();

  struct Span {
    uint64_t start, end, thread;
    std::string name;
    uint64_t children = 0;
  };
  std::vector<Span> spans;
  for (const auto& e : result->events())
    if (e.deviceType() == c10::DeviceType::CPU) spans.push_back({e.startNs(), e.endNs(), e.startThreadId(), e.name()});
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.thread != b.thread ? a.thread < b.thread : a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  std::vector<size_t> stack;
  for (size_t i = 0; i < spans.size(); ++i) {
    while (!stack.empty() && (spans[stack.back()].thread != spans[i].thread || spans[stack.back()].end <= spans[i].start))
      stack.pop_back();
    if (!stack.empty()) spans[stack.back()].children += spans[i].end - spans[i].start;
    stack.push_back(i);
  }
  struct Agg {
    int64_t calls = 0;
    double self_ms = 0, total_ms = 0;
  };
  std::map<std::string, Agg> by_name;
  double self_sum = 0;
  for (const auto& sp : spans) {
    auto& a = by_name[sp.name];
    const double dur = static_cast<double>(sp.end - sp.start) * 1e-6;
    const double self = dur - static_cast<double>(std::min(sp.children, sp.end - sp.start)) * 1e-6;
    a.calls += 1;
    a.self_ms += self;
    a.total_ms += dur;
    self_sum += self;
  }
  std::vector<std::pair<std::string, Agg>> rows(by_name.begin(), by_name.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.self_ms > b.second.self_ms; });
  std::fprintf(stderr, "profile %s: wall %.1f ms (profiled), ops' self time %.1f ms\n", what.c_str(), wall * 1e3, self_sum);
  std::fprintf(stderr, "  %-44s %8s %10s %10s %6s\n", "op", "calls", "self ms", "total ms", "self%");
  for (int64_t i = 0; i < std::min<int64_t>(top, static_cast<int64_t>(rows.size())); ++i) {
    const auto& [name, a] = rows[i];
    std::fprintf(stderr, "  %-44s %8lld %10.2f %10.2f %5.1f%%\n", name.substr(0, 44).c_str(),
                 static_cast<long long>(a.calls), a.self_ms, a.total_ms, 100.0 * a.self_ms / (wall * 1e3));
  }
}

nlohmann::ordered_json bench_forward(fw::model::LlamaForCausalLM& lm, const Flags& f) {
  at::NoGradGuard no_grad;
  at::Tensor ids = to_tensor(bench_prompt_ids(f.batch, f.seq, lm->config().vocab_size, f.seed));
  int64_t checksum_shape = 0;
  for (int64_t i = 0; i < f.warmup; ++i) checksum_shape = lm->forward(ids).size(-1);
  std::vector<double> times;
  for (int64_t i = 0; i < f.reps; ++i) {
    auto t0 = Clock::now();
    at::Tensor logits = lm->forward(ids);  // [B,T,V]; CPU ops are synchronous
    times.push_back(since(t0));
    checksum_shape = logits.size(-1);
  }
  if (f.profile == "forward") profile_ops("forward", [&] { lm->forward(ids); }, f.profile_top);
  const double med = median(times);
  nlohmann::ordered_json j;
  j["batch"] = f.batch;
  j["seq"] = f.seq;
  j["vocab"] = checksum_shape;
  j["warmup"] = f.warmup;
  j["reps"] = f.reps;
  j["seconds"] = times;
  j["median_s"] = med;
  j["tokens_per_s"] = static_cast<double>(f.batch * f.seq) / med;
  return j;
}

nlohmann::ordered_json bench_generate(fw::model::LlamaForCausalLM& lm, const Flags& f) {
  auto prompts = bench_prompt_ids(f.gen_batch, f.prompt_len, lm->config().vocab_size, f.seed + 1);
  if (f.ragged)  // prompt b keeps its last L - b*(L/2)/B tokens: lengths L down to about L/2
    for (int64_t b = 0; b < f.gen_batch; ++b) {
      auto& p = prompts[b];
      p.erase(p.begin(), p.begin() + b * (f.prompt_len / 2) / f.gen_batch);
    }
  fw::rollout::GenerateOptions opts{.max_new_tokens = f.new_tokens, .sampling = {.temperature = 0}, .eos_ids = {},
                                    .pad_id = 0};
  std::vector<fw::rollout::Generation> gens;
  fw::rollout::GenerateOptions warm = opts;
  warm.max_new_tokens = std::min(f.gen_warmup_tokens, f.new_tokens);
  for (int64_t i = 0; i < f.gen_warmup; ++i) gens = fw::rollout::generate(lm, prompts, warm);
  std::vector<double> times, prefill, decode;
  int64_t generated = 0;
  for (int64_t i = 0; i < f.gen_reps; ++i) {
    fw::rollout::GenerateStats stats;
    auto t0 = Clock::now();
    gens = fw::rollout::generate(lm, prompts, opts, &stats);
    times.push_back(since(t0));
    prefill.push_back(stats.prefill_seconds);
    decode.push_back(stats.decode_seconds);
    generated = stats.generated_tokens;
  }
  if (generated != f.gen_batch * f.new_tokens)
    throw std::runtime_error("generate stopped early: " + std::to_string(generated) + " tokens");
  if (f.profile == "generate") profile_ops("generate", [&] { fw::rollout::generate(lm, prompts, opts); }, f.profile_top);
  if (!f.dump_tokens.empty()) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& g : gens) tokens.push_back(g.tokens);
    std::ofstream(f.dump_tokens) << tokens.dump() << "\n";
  }
  const double med = median(times);
  nlohmann::ordered_json j;
  j["batch"] = f.gen_batch;
  j["prompt_len"] = f.prompt_len;
  j["new_tokens"] = f.new_tokens;
  j["ragged"] = f.ragged;
  j["warmup"] = f.gen_warmup;
  j["warmup_tokens"] = warm.max_new_tokens;
  j["reps"] = f.gen_reps;
  j["seconds"] = times;
  j["median_s"] = med;
  j["prefill_median_s"] = median(prefill);
  j["decode_median_s"] = median(decode);
  j["tokens_per_s"] = static_cast<double>(generated) / med;
  j["decode_tokens_per_s"] = static_cast<double>(generated) / median(decode);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fw-bench-model: forward and generation throughput of a flywheel Llama model (CPU, fp32)"};
  Flags f;
  app.add_option("--model", f.model_dir, "Hugging Face model folder (config.json + safetensors)")->required();
  app.add_option("--threads", f.threads, "intra-op threads (at::set_num_threads)")->check(CLI::PositiveNumber);
  app.add_option("--mode", f.mode, "forward | generate | both")->check(CLI::IsMember({"forward", "generate", "both"}));
  app.add_option("--batch", f.batch, "forward: batch size B")->check(CLI::PositiveNumber);
  app.add_option("--seq", f.seq, "forward: sequence length T")->check(CLI::PositiveNumber);
  app.add_option("--warmup", f.warmup, "forward: untimed runs first")->check(CLI::NonNegativeNumber);
  app.add_option("--reps", f.reps, "forward: timed runs (median reported)")->check(CLI::PositiveNumber);
  app.add_option("--gen-batch", f.gen_batch, "generate: number of prompts")->check(CLI::PositiveNumber);
  app.add_option("--prompt-len", f.prompt_len, "generate: tokens per prompt")->check(CLI::PositiveNumber);
  app.add_option("--new-tokens", f.new_tokens, "generate: new tokens per prompt (no EOS)")->check(CLI::PositiveNumber);
  app.add_option("--gen-warmup", f.gen_warmup, "generate: untimed runs first")->check(CLI::NonNegativeNumber);
  app.add_option("--gen-warmup-tokens", f.gen_warmup_tokens, "generate: new tokens of each warm-up run")
      ->check(CLI::PositiveNumber);
  app.add_flag("--ragged", f.ragged, "generate: prompts of lengths L down to about L/2, left-padded");
  app.add_option("--gen-reps", f.gen_reps, "generate: timed runs (median reported)")->check(CLI::PositiveNumber);
  app.add_option("--seed", f.seed, "seed of the pseudo-random token ids");
  app.add_option("--dump-tokens", f.dump_tokens, "write the generated tokens (JSON [[...], ...]) here");
  app.add_option("--profile", f.profile, "forward | generate: profile one extra run, per-op table on stderr")
      ->check(CLI::IsMember({"forward", "generate"}));
  app.add_option("--profile-top", f.profile_top, "rows of the profile table");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(f.threads);
    at::set_num_interop_threads(1);  // nothing runs inter-op here; keep it from spawning a pool
    const auto load_t0 = Clock::now();
    auto lm = fw::model::load_causal_lm(f.model_dir, {.dtype = at::kFloat, .device = at::kCPU});
    lm->eval();
    const double load_s = since(load_t0);
    int64_t n_params = 0;
    for (const auto& p : lm->parameters()) n_params += p.numel();

    nlohmann::ordered_json out;
    out["impl"] = "flywheel";
    out["model"] = f.model_dir;
    out["parameters"] = n_params;
    out["threads"] = at::get_num_threads();
    out["torch"] = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                   std::to_string(TORCH_VERSION_PATCH);
    out["load_s"] = load_s;
    if (f.mode != "generate") out["forward"] = bench_forward(lm, f);
    if (f.mode != "forward") out["generate"] = bench_generate(lm, f);
    std::cout << out.dump() << std::endl;
    return 0;
  } catch (const fw::Error& e) {
    std::cerr << "fw-bench-model: " << e.what() << "\n";
    return fw::exit_code(e);
  } catch (const std::exception& e) {
    std::cerr << "fw-bench-model: " << e.what() << "\n";
    return 1;
  }
}
