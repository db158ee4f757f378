// Running the `flywheel` binary from the integration tests: blocking runs with their exit
// code, runs SIGKILLed at a chosen moment, and comparing the weights of model folders.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace fw::testing {

// A recipe's model section for a 2-layer, 32-wide model trained from scratch.
inline constexpr const char* kTinyModel =
    "model:\n  chat_template: plain\n  from_scratch: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, "
    "num_attention_heads: 4, num_key_value_heads: 2}\n";

std::string flywheel_bin();  // $FLYWHEEL_BIN, else the build's bin/flywheel
std::string scratch(const std::string& name);  // tmp_dir()/name

// `flywheel ARGS` through the shell, output to `log`; the exit code (-1 if it did not exit).
int run_flywheel(const std::string& args, const std::string& log = "/dev/null");

// Starts `flywheel ARGS...`, SIGKILLs it as soon as `path` exists, and reports whether it
// was still running then (false: it ended on its own, or 120 s passed).
bool kill_when_exists(const std::vector<std::string>& args, const std::string& path);

std::string read_text(const std::string& path);

// A free TCP port on 127.0.0.1 (bound once, then released).
int free_port();

// `flywheel ARGS` as `world` ranks of one data-parallel run, started as torchrun would
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT on a free
// port), rank r's output in `log_prefix`.r; waits for all and returns each rank's exit
// code (-1 if it did not exit). `extra_env` goes before the command, e.g. "A=1 ".
std::vector<int> run_flywheel_ranks(const std::string& args, int world, const std::string& log_prefix,
                                    const std::string& extra_env = "");

// Every tensor of a model folder by name; the largest absolute difference of two such maps.
std::map<std::string, at::Tensor> folder_weights(const std::string& dir);
double max_weight_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b);

}  // namespace fw::testing
