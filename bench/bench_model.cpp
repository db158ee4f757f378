// fw-bench-model --model DIR [--threads N] [--mode forward|generate|both|serve] [shape flags]
//
// Throughput of flywheel's Llama-family decoder on one model folder (CPU, fp32, eval, no
// grad), in the shapes bench/model_vs_transformers.py gives transformers:
//   forward   full logits of a [B,T] batch; warm-up runs, then timed repetitions;
//             tokens/s = B*T / median seconds
//   generate  fw::rollout::generate, greedy, B prompts of length L (--ragged: lengths L
//             down to about L/2, left-padded), exactly N new tokens each (no EOS ids);
//             a short warm-up generation, then timed repetitions; tokens/s = B*N / median
//             wall seconds of the whole call (prefill included)
// --mode forward|generate|both prints one JSON line with the figures.
// --mode serve loads the model once and then answers one JSON command per stdin line with
// one JSON line, so a driver can interleave our runs with its own (the same machine noise
// hits both sides):
//   {"what":"forward"}                                   -> {"seconds":s}
//   {"what":"generate","ragged":b,"new_tokens":n,"dump":path?}
//                                 -> {"seconds":s,"prefill_s":..,"decode_s":..,"generated":k}
//   {"what":"quit"}
// The prompts are a fixed pseudo-random sequence (bench_prompt_ids, mirrored in the Python
// driver) so both sides run the same tokens; "dump" / --dump-tokens writes our generations
// (JSON [[ids...], ...]) so the driver can compare them with transformers'.
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
  std::string model_dir, mode = "both", dump_tokens, dtype = "float32";
  int threads = 2;
  int64_t batch = 8, seq = 128, warmup = 2, reps = 5;                                       // forward
  int64_t gen_batch = 8, prompt_len = 32, new_tokens = 128, gen_warmup = 1, gen_reps = 3;  // generate
  int64_t gen_warmup_tokens = 8;  // new tokens of each warm-up generation (warms kernels, costs little)
  bool ragged = false;            // prompts of different lengths (left padding)
  uint64_t seed = 1234;
  std::string profile;  // forward | generate: one extra profiled run, per-op table on stderr
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

// The model and its fixed inputs; each call is one timed run.
class Bench {
 public:
  Bench(fw::model::LlamaForCausalLM lm, const Flags& f) : lm_(std::move(lm)), f_(f) {
    const int64_t vocab = lm_->config().vocab_size;
    ids_ = to_tensor(bench_prompt_ids(f.batch, f.seq, vocab, f.seed));
    equal_ = bench_prompt_ids(f.gen_batch, f.prompt_len, vocab, f.seed + 1);
    ragged_ = equal_;  // prompt b drops its first b*(L/2)/B tokens: lengths L down to about L/2
    for (int64_t b = 0; b < f.gen_batch; ++b)
      ragged_[b].erase(ragged_[b].begin(), ragged_[b].begin() + b * (f.prompt_len / 2) / f.gen_batch);
  }

  double forward() {
    at::NoGradGuard no_grad;
    const auto t0 = Clock::now();
    at::Tensor logits = lm_->forward(ids_);  // [B,T,V]; CPU ops are synchronous
    const double s = since(t0);
    if (logits.size(0) != f_.batch || logits.size(1) != f_.seq) throw std::runtime_error("unexpected logits shape");
    return s;
  }

  struct GenRun {
    double seconds = 0;
    fw::rollout::GenerateStats stats;
    std::vector<fw::rollout::Generation> gens;
  };
  GenRun generate(bool ragged, int64_t new_tokens) {
    fw::rollout::GenerateOptions opts{.max_new_tokens = new_tokens, .sampling = {.temperature = 0}, .eos_ids = {},
                                      .pad_id = 0};
    GenRun r;
    const auto t0 = Clock::now();
    r.gens = fw::rollout::generate(lm_, ragged ? ragged_ : equal_, opts, &r.stats);
    r.seconds = since(t0);
    if (r.stats.generated_tokens != f_.gen_batch * new_tokens)
      throw std::runtime_error("generate stopped early: " + std::to_string(r.stats.generated_tokens) + " tokens");
    return r;
  }

  // One training forward + backward (mean token log-sum-exp as the loss) over the forward
  // batch; packed: documents of 40 tokens with restarting positions, as SFT packing makes.
  void train_step(bool packed) {
    const int64_t B = ids_.size(0), T = ids_.size(1);
    fw::model::ForwardOptions opts;
    if (packed) {
      at::Tensor t = at::arange(T, at::kLong);
      opts.segment_ids = at::floor_divide(t, 40).unsqueeze(0).expand({B, T}).contiguous();
      opts.position_ids = at::remainder(t, 40).unsqueeze(0).expand({B, T}).contiguous();
    }
    at::Tensor loss = lm_->forward(ids_, opts).logsumexp(-1).mean();
    loss.backward();
    for (auto& p : lm_->parameters()) p.mutable_grad() = at::Tensor();
  }

  static void dump(const GenRun& r, const std::string& path) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& g : r.gens) tokens.push_back(g.tokens);
    std::ofstream(path) << tokens.dump() << "\n";
  }

  nlohmann::ordered_json forward_report() {
    for (int64_t i = 0; i < f_.warmup; ++i) forward();
    std::vector<double> times;
    for (int64_t i = 0; i < f_.reps; ++i) times.push_back(forward());
    if (f_.profile == "forward") profile_ops("forward", [&] { forward(); }, f_.profile_top);
    if (f_.profile == "train" || f_.profile == "train-packed") {
      const bool packed = f_.profile == "train-packed";
      lm_->train();
      for (int64_t i = 0; i < 2; ++i) train_step(packed);
      profile_ops(f_.profile, [&] { train_step(packed); }, f_.profile_top);
      lm_->eval();
    }
    const double med = median(times);
    nlohmann::ordered_json j;
    j["batch"] = f_.batch;
    j["seq"] = f_.seq;
    j["warmup"] = f_.warmup;
    j["reps"] = f_.reps;
    j["seconds"] = times;
    j["median_s"] = med;
    j["tokens_per_s"] = static_cast<double>(f_.batch * f_.seq) / med;
    return j;
  }

  nlohmann::ordered_json generate_report() {
    const int64_t warm_tokens = std::min(f_.gen_warmup_tokens, f_.new_tokens);
    for (int64_t i = 0; i < f_.gen_warmup; ++i) generate(f_.ragged, warm_tokens);
    std::vector<double> times, prefill, decode;
    GenRun r;
    for (int64_t i = 0; i < f_.gen_reps; ++i) {
      r = generate(f_.ragged, f_.new_tokens);
      times.push_back(r.seconds);
      prefill.push_back(r.stats.prefill_seconds);
      decode.push_back(r.stats.decode_seconds);
    }
    if (f_.profile == "generate") profile_ops("generate", [&] { generate(f_.ragged, f_.new_tokens); }, f_.profile_top);
    if (!f_.dump_tokens.empty()) dump(r, f_.dump_tokens);
    const double med = median(times);
    const double generated = static_cast<double>(f_.gen_batch * f_.new_tokens);
    nlohmann::ordered_json j;
    j["batch"] = f_.gen_batch;
    j["prompt_len"] = f_.prompt_len;
    j["new_tokens"] = f_.new_tokens;
    j["ragged"] = f_.ragged;
    j["warmup"] = f_.gen_warmup;
    j["warmup_tokens"] = warm_tokens;
    j["reps"] = f_.gen_reps;
    j["seconds"] = times;
    j["median_s"] = med;
    j["prefill_median_s"] = median(prefill);
    j["decode_median_s"] = median(decode);
    j["tokens_per_s"] = generated / med;
    j["decode_tokens_per_s"] = generated / median(decode);
    return j;
  }

  // One JSON command per stdin line, one JSON answer per stdout line, until EOF or quit.
  void serve() {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      const auto cmd = nlohmann::json::parse(line);
      const std::string what = cmd.value("what", "");
      nlohmann::ordered_json out;
      if (what == "quit") break;
      if (what == "forward") {
        out["seconds"] = forward();
      } else if (what == "generate") {
        GenRun r = generate(cmd.value("ragged", false), cmd.value("new_tokens", f_.new_tokens));
        out["seconds"] = r.seconds;
        out["prefill_s"] = r.stats.prefill_seconds;
        out["decode_s"] = r.stats.decode_seconds;
        out["generated"] = r.stats.generated_tokens;
        if (cmd.contains("dump")) dump(r, cmd["dump"].get<std::string>());
      } else {
        out["error"] = "unknown command: " + line;
      }
      std::cout << out.dump() << std::endl;
    }
  }

 private:
  fw::model::LlamaForCausalLM lm_;
  Flags f_;
  at::Tensor ids_;                                 // [B,T] forward input
  std::vector<std::vector<int64_t>> equal_, ragged_;  // generation prompts
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fw-bench-model: forward and generation throughput of a flywheel Llama model (CPU)"};
  Flags f;
  app.add_option("--model", f.model_dir, "Hugging Face model folder (config.json + safetensors)")->required();
  app.add_option("--threads", f.threads, "intra-op threads (at::set_num_threads)")->check(CLI::PositiveNumber);
  app.add_option("--mode", f.mode, "forward | generate | both | serve (JSON commands on stdin)")
      ->check(CLI::IsMember({"forward", "generate", "both", "serve"}));
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
  app.add_option("--dtype", f.dtype, "weights and activations: float32 | bfloat16")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  app.add_option("--dump-tokens", f.dump_tokens, "write the generated tokens (JSON [[...], ...]) here");
  app.add_option("--profile", f.profile,
                 "forward | generate | train | train-packed: profile one extra run (train: forward + backward "
                 "of the forward batch), per-op table on stderr")
      ->check(CLI::IsMember({"forward", "generate", "train", "train-packed"}));
  app.add_option("--profile-top", f.profile_top, "rows of the profile table");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(f.threads);
    at::set_num_interop_threads(1);  // nothing runs inter-op here; keep it from spawning a pool
    const auto load_t0 = Clock::now();
    const at::ScalarType dtype = f.dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
    auto lm = fw::model::load_causal_lm(f.model_dir, {.dtype = dtype, .device = at::kCPU});
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
    Bench bench(lm, f);
    if (f.mode == "serve") {
      std::cout << out.dump() << std::endl;  // the first line: ready, with the model's facts
      bench.serve();
      return 0;
    }
    if (f.mode != "generate") out["forward"] = bench.forward_report();
    if (f.mode != "forward") out["generate"] = bench.generate_report();
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
