#include "trainer/run_fingerprint.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/strings.h"
#include "trainer/checkpoint_dir.h"

namespace fw::trainer {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

constexpr int kFingerprintFormat = 1;

// The files of a model or tokenizer folder that determine what a trainer starts from; the
// rest (READMEs, other frameworks' weight copies, generation defaults) does not.
bool weight_file(const std::string& name) {
  for (const char* exact : {"config.json", "tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                            "special_tokens_map.json", "chat_template.jinja", "chat_template.json"})
    if (name == exact) return true;
  return ends_with(name, ".safetensors") || ends_with(name, ".safetensors.index.json");
}

int64_t mtime_ns(const fs::path& p) {  // since the Unix epoch
  const auto t = std::chrono::file_clock::to_sys(fs::last_write_time(p));
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The sha256 of one file, from `previous` (a fingerprint's "files") when its size and
// mtime are the recorded ones; recorded into `files`.
std::string file_sha(const fs::path& p, const ordered_json& previous, ordered_json& files) {
  const std::string abs = fs::absolute(p).lexically_normal().string();
  const auto bytes = static_cast<int64_t>(fs::file_size(p));
  const int64_t mtime = mtime_ns(p);
  std::string sha;
  if (previous.is_object() && previous.contains(abs)) {
    const auto& prev = previous[abs];
    if (prev.value("bytes", int64_t{-1}) == bytes && prev.value("mtime_ns", int64_t{-1}) == mtime)
      sha = prev.value("sha256", "");
  }
  if (sha.empty()) sha = sha256_file(abs);
  files[abs] = {{"bytes", bytes}, {"mtime_ns", mtime}, {"sha256", sha}};
  return sha;
}

// "sha256:<hex>" of a file, or of a folder's weight files (name and digest of each); ""
// for an unset path.
std::string content_identity(const std::string& key, const std::string& path, const ordered_json& previous,
                             ordered_json& files) {
  if (path.empty()) return "";
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec))
    throw_invalid("no such file or folder: " + path, {.key = key, .hint = "check the path (it is relative to the "
                                                                          "directory the command runs in)"});
  if (!fs::is_directory(p)) return "sha256:" + file_sha(p, previous, files);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(p))
    if (e.is_regular_file() && weight_file(e.path().filename().string())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::string listing;
  for (const auto& n : names) listing += n + " " + file_sha(p / n, previous, files) + "\n";
  return "sha256:" + sha256_hex(listing);
}

// A recorded value as a person reads it.
std::string show(const ordered_json& keys, const std::string& key) {
  if (!keys.contains(key)) return "(absent)";
  const std::string v = keys[key].is_string() ? keys[key].get<std::string>() : keys[key].dump();
  if (v.empty()) return "\"\"";
  if (starts_with(v, "sha256:") && v.size() > 7 + 12) return v.substr(0, 7 + 12);
  return v;
}

std::string show_path(const ordered_json& fp, const std::string& key) {
  if (!fp.contains("paths") || !fp["paths"].contains(key)) return "";
  return " of " + fp["paths"][key].get<std::string>();
}

// What the fingerprint records for a recipe key, or nothing for a resume-safe key.
// checkpoint.resume is recorded as "own checkpoints" for auto and never (this folder's
// checkpoints, or none: free to switch) and as itself for a path into another run.
std::optional<std::string> fingerprint_value(const std::string& key, const std::string& value) {
  if (key == "checkpoint.resume") return value == "auto" || value == "never" ? "own checkpoints" : value;
  if (is_resume_safe(key)) return std::nullopt;
  return value;
}

// The non-safe keys of a resolved recipe, by their YAML text.
ordered_json recipe_keys(const std::string& yaml) {
  ordered_json keys = ordered_json::object();
  for (const auto& [k, v] : yaml_keys(yaml))
    if (const auto fv = fingerprint_value(k, v)) keys[k] = *fv;
  return keys;
}

bool holds_trained(const fs::path& dir) {
  return !list_checkpoints(dir.string()).empty() || fs::exists(dir / "final") || fs::exists(dir / "tokenizer");
}

std::string safe_keys_text() { return join(resume_safe_keys(), ", "); }

[[noreturn]] void refuse(const std::string& output_dir, const std::string& what, const std::vector<std::string>& diffs,
                         const std::string& record) {
  throw_invalid(output_dir + " " + what + "; resuming it with this recipe would mix the two. Differing keys (the "
                    "run's -> this recipe's): " + join(diffs, "; "),
                {.file = record,
                 .hint = "rerun with the recipe it was started with (" + (fs::path(output_dir) / "config.yaml").string() +
                         "), pass --restart to move it aside and start afresh, or choose another output_dir; only "
                         "these keys may change on resume: " + safe_keys_text()});
}

// A folder without fingerprint.json: made by a version before fingerprints, or by a run
// that failed before writing anything.
RunFolder check_unfingerprinted(const fs::path& dir, const RunIdentity& id) {
  const auto checkpoints = list_checkpoints(dir.string());
  std::string record;  // the config.yaml the folder's weights were trained under
  for (const auto& c : checkpoints) {
    const fs::path f = fs::path(c.path) / kTrainerStateDir / "config.yaml";
    if (fs::exists(f)) {
      record = f.string();
      break;
    }
  }
  const bool has_final = fs::exists(dir / "final");
  if (record.empty() && has_final && fs::exists(dir / "config.yaml")) record = (dir / "config.yaml").string();
  if (record.empty()) {
    if (!checkpoints.empty() || has_final)
      throw_invalid(dir.string() + " holds a run made before run fingerprints, with no record of its recipe to check "
                                   "this one against",
                    {.hint = "pass --restart to move it aside and start afresh, or choose another output_dir"});
    if (fs::exists(dir / "tokenizer")) {
      // Nothing was trained with it, and nothing says what it was trained on.
      fs::remove_all(dir / "tokenizer");
      log::warn("discarded " + (dir / "tokenizer").string() +
                ", left by an earlier attempt without a fingerprint; the tokenizer is trained afresh");
    }
    return RunFolder::Fresh;
  }
  const ordered_json recorded = {{"keys", recipe_keys(read_text_file(record))}};
  const ordered_json current = {{"keys", recipe_keys(id.config_yaml)}};
  const auto diffs = fingerprint_differences(recorded, current);
  if (!diffs.empty()) refuse(dir.string(), "holds a run (made before run fingerprints) started from another recipe", diffs, record);
  log::warn(dir.string() + " was made before run fingerprints; its recipe (" + record +
            ") matches this one, so it is resumed, taking its data files and starting model to be unchanged");
  return RunFolder::Adopted;
}

}  // namespace

const std::vector<std::string>& resume_safe_keys() {
  static const std::vector<std::string> keys = {
      "output_dir",            // the folder itself (a moved folder is the same run)
      "device",                // where it runs ...
      "threads",               // ... on how many CPU threads
      "dist_timeout_seconds",  // how long ranks wait for each other
      "log_every_steps",       // logging cadence
      "train.max_steps",       // how long it trains
      "train.epochs",
      "train.on_nan",          // what a non-finite step does (a stopped run is resumed with skip)
      "checkpoint",            // checkpoint cadence and retention (not checkpoint.resume)
      "eval",                  // evaluation settings (SFT, PPO)
      "data.eval",             // held-out data for the eval metrics (SFT, DPO, RM)
  };
  return keys;
}

bool is_resume_safe(std::string_view key) {
  // Where to resume from is not cadence: a path into another run would continue from its
  // weights.
  if (key == "checkpoint.resume") return false;
  for (const auto& safe : resume_safe_keys()) {
    if (key == safe) return true;
    if (key.size() > safe.size() && starts_with(key, safe) && (key[safe.size()] == '.' || key[safe.size()] == '['))
      return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> yaml_keys(const std::string& yaml) {
  std::vector<std::pair<std::string, std::string>> out;
  // Maps are walked into dotted paths; every other node is one value, written in YAML's
  // flow style (a list as "[a, b]", a string that needs quotes quoted, "" as "\"\"").
  // A free-form map (a template's keyword arguments) is one value too: a name added to it
  // is the user's change, not another flywheel version's.
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& node, const std::string& path) {
    if (node.IsMap() && node.size() > 0 && !ends_with(path, "chat_template_kwargs")) {
      for (const auto& kv : node) walk(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar());
      return;
    }
    YAML::Emitter e;
    e << YAML::Flow << node;
    out.emplace_back(path, e.c_str());
  };
  try {
    walk(YAML::Load(yaml), "");
  } catch (const YAML::Exception& e) {
    throw_invalid(std::string("a recipe that is not YAML: ") + e.what());
  }
  return out;
}

ordered_json make_fingerprint(const RunIdentity& id, const ordered_json& previous_files) {
  ordered_json keys = ordered_json::object(), paths = ordered_json::object(), files = ordered_json::object();
  keys["recipe"] = id.recipe;
  std::vector<bool> placed(id.content.size(), false);
  auto place = [&](size_t i) {
    const ContentKey& c = id.content[i];
    placed[i] = true;
    for (size_t j = 0; j < c.paths.size(); ++j) {
      const std::string key = c.list ? c.key + "[" + std::to_string(j) + "]" : c.key;
      keys[key] = content_identity(key, c.paths[j], previous_files, files);
      if (!c.paths[j].empty()) paths[key] = fs::absolute(c.paths[j]).lexically_normal().string();
    }
  };
  for (const auto& [k, v] : yaml_keys(id.config_yaml)) {
    const auto fv = fingerprint_value(k, v);
    if (!fv) continue;
    bool content = false;
    for (size_t i = 0; i < id.content.size(); ++i)
      if (id.content[i].key == k) {
        place(i);
        content = true;
      }
    if (!content) keys[k] = *fv;
  }
  for (size_t i = 0; i < id.content.size(); ++i)
    if (!placed[i]) place(i);
  return {{"format_version", kFingerprintFormat}, {"keys", keys}, {"paths", paths}, {"files", files}};
}

std::vector<std::string> fingerprint_differences(const ordered_json& recorded, const ordered_json& current) {
  static const ordered_json kNone = ordered_json::object();
  const ordered_json& a = recorded.contains("keys") ? recorded["keys"] : kNone;
  const ordered_json& b = current.contains("keys") ? current["keys"] : kNone;
  std::vector<std::string> out;
  auto line = [&](const std::string& k) {
    std::string s = k + ": " + show(a, k) + show_path(recorded, k) + " -> " + show(b, k) + show_path(current, k);
    out.push_back(std::move(s));
  };
  // A recipe field one side lacks altogether was added (or removed) by another flywheel
  // version, not by the user: every recipe is dumped whole, so it holds that version's
  // default, and an upgrade must not lock every earlier run out. An indexed content key
  // ("data.train[1]") is different: a file was added or taken away.
  auto versioned = [](const std::string& k) { return k.find('[') == std::string::npos; };
  for (const auto& [k, v] : b.items())
    if (a.contains(k) ? a[k] != v : !versioned(k)) line(k);
  for (const auto& [k, v] : a.items())
    if (!b.contains(k) && !versioned(k)) line(k);
  return out;
}

RunFolder record_run(const std::string& output_dir, const RunIdentity& id) {
  const fs::path dir(output_dir);
  const fs::path fp_file = dir / kFingerprintFile;
  ordered_json recorded;  // null: none
  if (fs::exists(fp_file)) {
    try {
      recorded = ordered_json::parse(read_text_file(fp_file.string()));
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(std::string("unreadable run fingerprint: ") + e.what(),
                    {.file = fp_file.string(), .hint = "pass --restart to move the run aside and start afresh"});
    }
  }
  const bool has_record = recorded.is_object() && recorded.contains("keys");
  const ordered_json current =
      make_fingerprint(id, has_record && recorded.contains("files") ? recorded["files"] : ordered_json());
  RunFolder result = RunFolder::Fresh;
  if (has_record) {
    const auto diffs = fingerprint_differences(recorded, current);
    if (diffs.empty()) {
      result = RunFolder::Resumed;
    } else if (holds_trained(dir)) {
      refuse(output_dir, "holds a run started from another recipe", diffs, fp_file.string());
    } else {
      log::info(output_dir + " holds nothing trained yet; recording this recipe in place of the earlier attempt's (" +
                join(diffs, "; ") + ")");
    }
  } else if (fs::exists(dir)) {
    result = check_unfingerprinted(dir, id);
  }
  fs::create_directories(dir);
  write_file_atomic(fp_file.string(), current.dump(2) + "\n");
  write_file_atomic((dir / "config.yaml").string(), id.config_yaml);
  return result;
}

std::string move_run_aside(const std::string& output_dir) {
  fs::path dir = fs::path(output_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/"
  if (!fs::exists(dir)) return "";
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string target = dir.string() + ".old-" + stamp;
  for (int n = 2; fs::exists(target); ++n) target = dir.string() + ".old-" + stamp + "-" + std::to_string(n);
  std::error_code ec;
  fs::rename(dir, target, ec);
  if (ec) throw_runtime("cannot move " + dir.string() + " to " + target + ": " + ec.message(), {.file = dir.string()});
  return target;
}

}  // namespace fw::trainer
