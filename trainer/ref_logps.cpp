#include "trainer/ref_logps.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "model/safetensors_format.h"
#include "model/safetensors_io.h"

namespace fw::trainer {
namespace fs = std::filesystem;

std::string ref_logps_key(const std::string& reference_dir, const std::vector<std::string>& data_files,
                          const std::string& tokenizer_bytes, const std::string& settings) {
  Sha256 h;
  std::vector<fs::path> model_files;
  for (const auto& e : fs::directory_iterator(reference_dir))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "config.json") model_files.push_back(e.path());
  std::sort(model_files.begin(), model_files.end());
  for (const auto& f : model_files) h.update(f.filename().string() + ":" + sha256_file(f.string()) + "\n");
  for (const auto& f : data_files) h.update("data:" + sha256_file(f) + "\n");
  h.update("tokenizer:" + sha256_hex(tokenizer_bytes) + "\n");
  h.update("settings:" + settings + "\n");
  return h.hex_digest();
}

at::Tensor cached_ref_logps(const std::string& path, const std::string& fallback_dir, const std::string& key, int64_t n,
                            const std::function<at::Tensor()>& compute) {
  const std::string fallback = (fs::path(fallback_dir) / "ref_logps.safetensors").string();
  for (const std::string& candidate : {path, fallback}) {
    if (!fs::exists(candidate)) continue;
    const model::StHeader header = model::read_header(candidate);
    auto it = header.metadata.find("key");
    if (it == header.metadata.end() || it->second != key) {
      log::info("reference log-prob cache " + candidate + " is stale (the model, data or settings changed); rebuilding");
      continue;
    }
    at::Tensor t = model::load_safetensors(candidate).at(0).second;
    if (t.dim() == 2 && t.size(0) == n && t.size(1) == 2) {
      log::info("reusing reference log-probs from " + candidate);
      return t;
    }
    log::info("reference log-prob cache " + candidate + " has the wrong shape; rebuilding");
  }
  at::Tensor logps = compute().to(at::kCPU, at::kFloat).contiguous();
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"key", key}};
  try {
    model::save_safetensors(path, {{"ref_logps", logps}}, metadata);
    log::info("cached reference log-probs in " + path);
  } catch (const Error&) {
    fs::create_directories(fallback_dir);
    model::save_safetensors(fallback, {{"ref_logps", logps}}, metadata);
    log::info("cached reference log-probs in " + fallback + " (" + path + " is not writable)");
  }
  return logps;
}

}  // namespace fw::trainer
