#include "trainer/checkpoint_dir.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE (glibc >= 2.28)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json_io.h"
#include "core/log.h"

namespace fw::trainer {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "checkpoint-";
constexpr const char* kStagingPrefix = ".staging-checkpoint-";
constexpr const char* kTrashPrefix = ".trash-checkpoint-";

std::string errno_text(int err) { return std::strerror(err); }

std::string iso_time_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int resolve_threads(int requested, size_t jobs) {
  int n = requested > 0 ? requested
                        : std::min(4, std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  return static_cast<int>(std::min<size_t>(static_cast<size_t>(n), std::max<size_t>(jobs, 1)));
}

struct HashResult {
  std::string digest;  // lowercase hex, empty on error
  std::string error;   // why the file could not be read, empty on success
};

// Streams one file through SHA-256 (1 MiB chunks); optionally fsyncs it on the same fd.
HashResult hash_one(const std::string& path, bool do_fsync) {
  HashResult r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.error = "cannot open (" + errno_text(errno) + ")";
    return r;
  }
  try {
    Sha256 h;
    std::vector<char> buf(size_t{1} << 20);
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        r.error = "cannot read (" + errno_text(errno) + ")";
        break;
      }
      if (n == 0) break;
      h.update(buf.data(), static_cast<size_t>(n));
    }
    if (r.error.empty() && do_fsync && ::fsync(fd) != 0)
      r.error = "fsync failed (" + errno_text(errno) + ")";
    if (r.error.empty()) r.digest = h.hex_digest();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  ::close(fd);
  return r;
}

// Hashes files on a few threads (large checkpoints have several multi-GB files).
std::vector<HashResult> hash_many(const std::vector<std::string>& paths, bool do_fsync, int threads) {
  std::vector<HashResult> out(paths.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < paths.size(); i = next++) out[i] = hash_one(paths[i], do_fsync);
  };
  int n = resolve_threads(threads, paths.size());
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return out;
}

// A manifest path must stay inside the checkpoint: relative, no "..", no empty parts.
bool safe_relative_path(const std::string& rel) {
  if (rel.empty() || rel.front() == '/') return false;
  for (const auto& part : fs::path(rel)) {
    std::string p = part.string();
    if (p.empty() || p == "." || p == "..") return false;
  }
  return true;
}

std::string folder_name(const std::string& path) {
  fs::path p(path);
  if (!p.has_filename()) p = p.parent_path();  // "dir/" -> "dir"
  return p.filename().string();
}

// Verifies a checkpoint; on success stores the manifest's step.
std::string verify_impl(const std::string& path, int hash_threads, int64_t* step_out) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "does not exist";
  if (!fs::is_directory(path, ec)) return "is not a folder";

  const std::string mpath = (fs::path(path) / kManifestPath).string();
  const std::string m = kManifestPath;
  if (!fs::exists(mpath, ec))
    return m + ": missing (the save did not finish, or the file was deleted)";

  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_text_file(mpath));
  } catch (const nlohmann::json::parse_error& e) {
    return m + ": not valid JSON (" + e.what() + ")";
  } catch (const std::exception& e) {
    return m + ": cannot read (" + e.what() + ")";
  }
  if (!manifest.is_object()) return m + ": not a JSON object";

  auto version = manifest.find("format_version");
  if (version == manifest.end() || !version->is_number_integer())
    return m + ": no integer format_version";
  if (version->get<int64_t>() != kCheckpointFormatVersion)
    return m + ": format_version " + std::to_string(version->get<int64_t>()) +
           " is not supported (this build reads " + std::to_string(kCheckpointFormatVersion) + ")";

  auto step = manifest.find("step");
  if (step == manifest.end() || !step->is_number_integer() || step->get<int64_t>() < 0)
    return m + ": no valid step";
  const int64_t manifest_step = step->get<int64_t>();
  if (auto name_step = parse_checkpoint_dir_name(folder_name(path)); name_step && *name_step != manifest_step)
    return m + ": step " + std::to_string(manifest_step) + " does not match the folder name (step " +
           std::to_string(*name_step) + ")";

  auto files = manifest.find("files");
  if (files == manifest.end() || !files->is_object()) return m + ": no \"files\" object";

  // Cheap checks first (presence, size) for every file, then the hashes.
  std::vector<std::string> rels, abs_paths, expected;
  for (auto it = files->begin(); it != files->end(); ++it) {
    const std::string& rel = it.key();
    if (!safe_relative_path(rel)) return m + ": unsafe file path '" + rel + "'";
    const auto& entry = it.value();
    if (!entry.is_object() || !entry.contains("bytes") || !entry["bytes"].is_number_unsigned() ||
        !entry.contains("sha256") || !entry["sha256"].is_string() ||
        entry["sha256"].get<std::string>().size() != 64)
      return m + ": malformed entry for '" + rel + "' (needs bytes and a 64-digit sha256)";
    const std::string full = (fs::path(path) / rel).string();
    auto st = fs::symlink_status(full, ec);
    if (ec || !fs::exists(st)) return rel + ": missing";
    if (!fs::is_regular_file(st)) return rel + ": not a regular file";
    const uint64_t want = entry["bytes"].get<uint64_t>();
    const uint64_t have = fs::file_size(full, ec);
    if (ec) return rel + ": cannot read its size (" + ec.message() + ")";
    if (have != want)
      return rel + ": " + std::to_string(have) + " bytes, the manifest says " + std::to_string(want) +
             " (truncated or torn)";
    rels.push_back(rel);
    abs_paths.push_back(full);
    expected.push_back(entry["sha256"].get<std::string>());
  }
  auto hashes = hash_many(abs_paths, /*do_fsync=*/false, hash_threads);
  for (size_t i = 0; i < rels.size(); ++i) {
    if (!hashes[i].error.empty()) return rels[i] + ": " + hashes[i].error;
    std::string want = expected[i];
    std::transform(want.begin(), want.end(), want.begin(), [](unsigned char c) { return std::tolower(c); });
    if (hashes[i].digest != want) return rels[i] + ": sha256 mismatch (torn or corrupt)";
  }
  if (step_out) *step_out = manifest_step;
  return "";
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw_runtime("cannot rename " + from.string() + " to " + to.string() + ": " + errno_text(errno),
                  {.file = to.string()});
}

// Moves `staging` to `final_path`. An existing folder at `final_path` is swapped out
// atomically (RENAME_EXCHANGE) where the filesystem supports it, else moved aside first.
void publish(const fs::path& output_dir, const fs::path& staging, const fs::path& final_path,
             int64_t step) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(final_path, ec))) {
    rename_or_throw(staging, final_path);
    return;
  }
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE) == 0) {
    fsync_directory(output_dir.string());
    fs::remove_all(staging, ec);  // now holds the replaced checkpoint
    if (ec) log::warn("could not remove the replaced checkpoint " + staging.string() + ": " + ec.message());
    return;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    throw_runtime("cannot swap " + staging.string() + " into " + final_path.string() + ": " +
                      errno_text(errno),
                  {.file = final_path.string()});
#endif
  const fs::path aside = output_dir / (kTrashPrefix + checkpoint_dir_name(step).substr(std::strlen(kPrefix)) +
                                       "-" + std::to_string(::getpid()));
  fs::remove_all(aside, ec);
  rename_or_throw(final_path, aside);
  if (::rename(staging.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::rename(aside.c_str(), final_path.c_str());  // put the old one back
    throw_runtime("cannot rename " + staging.string() + " to " + final_path.string() + ": " + errno_text(err),
                  {.file = final_path.string()});
  }
  fsync_directory(output_dir.string());
  fs::remove_all(aside, ec);
  if (ec) log::warn("could not remove the replaced checkpoint " + aside.string() + ": " + ec.message());
}

// Removes stale staging/trash folders, then checkpoints beyond keep_last. Never throws: the
// checkpoint is already saved; a failure to clean up is only a warning.
void prune(const fs::path& output_dir, int keep_last, const fs::path& saved_path) {
  std::error_code ec;
  bool changed = false;
  std::vector<fs::path> stale;
  for (auto it = fs::directory_iterator(output_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kStagingPrefix, 0) == 0 || name.rfind(kTrashPrefix, 0) == 0) stale.push_back(it->path());
  }
  for (const auto& p : stale) {
    log::info("removing stale folder " + p.string() + " (left by an interrupted save)");
    fs::remove_all(p, ec);
    if (ec) log::warn("could not remove " + p.string() + ": " + ec.message());
    changed = true;
  }

  if (keep_last > 0) {
    int kept = 1;  // the checkpoint just saved always stays
    for (const auto& c : list_checkpoints(output_dir.string())) {
      if (fs::path(c.path).filename() == saved_path.filename()) continue;
      bool complete = fs::exists(fs::path(c.path) / kManifestPath, ec);
      if (complete && kept < keep_last) {
        ++kept;
        continue;
      }
      // Rename first (atomic) so a crash mid-removal never leaves a half-deleted
      // checkpoint-* folder that looks like a candidate; the trash is removed next save.
      const fs::path trash = output_dir / (kTrashPrefix + fs::path(c.path).filename().string().substr(
                                                              std::strlen(kPrefix)) +
                                           "-" + std::to_string(::getpid()));
      fs::remove_all(trash, ec);
      if (::rename(c.path.c_str(), trash.c_str()) != 0) {
        log::warn("could not remove old checkpoint " + c.path + ": " + errno_text(errno));
        continue;
      }
      log::info("removed " + fs::path(c.path).filename().string() + " (keep_last " +
                std::to_string(keep_last) + (complete ? ")" : "; it was incomplete)"));
      fs::remove_all(trash, ec);
      if (ec) log::warn("could not remove " + trash.string() + ": " + ec.message());
      changed = true;
    }
  }
  if (changed) {
    try {
      fsync_directory(output_dir.string());
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
  }
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) {
  if (step < 0) throw_invalid("checkpoint step must be >= 0, got " + std::to_string(step));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%08lld", kPrefix, static_cast<long long>(step));
  return buf;
}

std::optional<int64_t> parse_checkpoint_dir_name(std::string_view name) {
  const std::string_view prefix = kPrefix;
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string save_checkpoint(const std::string& output_dir, int64_t step,
                            const std::function<void(const std::string& staging_dir)>& write_files,
                            const CheckpointDirOptions& opts) {
  const std::string name = checkpoint_dir_name(step);  // validates step
  const fs::path out(output_dir);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw_runtime("cannot create output folder: " + ec.message(), {.file = output_dir});

  const fs::path staging = out / (kStagingPrefix + name.substr(std::strlen(kPrefix)) + "-" +
                                  std::to_string(::getpid()));
  const fs::path final_path = out / name;
  fs::remove_all(staging, ec);  // ours, from an earlier failed attempt in this process
  fs::create_directories(staging / kTrainerStateDir, ec);
  if (ec) throw_runtime("cannot create staging folder: " + ec.message(), {.file = staging.string()});

  try {
    write_files(staging.string());

    // Every file the recipe wrote, in a stable order; symlinks and special files are refused
    // so a checkpoint is always self-contained.
    std::vector<std::string> rels, abs_paths, dirs;
    fs::create_directories(staging / kTrainerStateDir);
    for (auto it = fs::recursive_directory_iterator(staging); it != fs::recursive_directory_iterator(); ++it) {
      const auto st = it->symlink_status();
      const std::string rel = it->path().lexically_relative(staging).generic_string();
      if (fs::is_directory(st)) {
        dirs.push_back(it->path().string());
      } else if (fs::is_regular_file(st)) {
        if (rel == kManifestPath) continue;  // written below
        rels.push_back(rel);
      } else {
        throw_invalid("checkpoint files must be regular files; '" + rel + "' is a symlink or special file",
                      {.file = it->path().string()});
      }
    }
    std::sort(rels.begin(), rels.end());
    for (const auto& rel : rels) abs_paths.push_back((staging / rel).string());

    auto hashes = hash_many(abs_paths, /*do_fsync=*/true, opts.hash_threads);
    nlohmann::ordered_json files = nlohmann::ordered_json::object();
    for (size_t i = 0; i < rels.size(); ++i) {
      if (!hashes[i].error.empty())
        throw_runtime("cannot hash checkpoint file: " + hashes[i].error, {.file = abs_paths[i]});
      files[rels[i]] = {{"bytes", static_cast<uint64_t>(fs::file_size(abs_paths[i]))},
                        {"sha256", hashes[i].digest}};
    }
    nlohmann::ordered_json manifest;
    manifest["format_version"] = kCheckpointFormatVersion;
    manifest["step"] = step;
    manifest["created"] = iso_time_utc();
    manifest["files"] = std::move(files);
    write_file_atomic((staging / kManifestPath).string(), manifest.dump(2) + "\n");

    // Deepest folders first, then the staging folder itself: every entry is durable before
    // the rename makes the checkpoint visible.
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& d : dirs) fsync_directory(d);
    fsync_directory(staging.string());

    publish(out, staging, final_path, step);
    fsync_directory(out.string());
  } catch (...) {
    std::error_code ignore;
    fs::remove_all(staging, ignore);
    throw;
  }

  prune(out, opts.keep_last, final_path);
  log::info("saved " + final_path.string());
  return final_path.string();
}

std::string verify_checkpoint(const std::string& path, int hash_threads) {
  return verify_impl(path, hash_threads, nullptr);
}

std::vector<CheckpointInfo> list_checkpoints(const std::string& output_dir) {
  std::vector<CheckpointInfo> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(output_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_directory(ec2)) continue;
    if (auto step = parse_checkpoint_dir_name(it->path().filename().string()))
      out.push_back({it->path().string(), *step});
  }
  std::sort(out.begin(), out.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) {
    return a.step != b.step ? a.step > b.step : a.path > b.path;
  });
  return out;
}

std::optional<CheckpointInfo> find_latest_checkpoint(const std::string& output_dir, int hash_threads) {
  auto all = list_checkpoints(output_dir);
  for (size_t i = 0; i < all.size(); ++i) {
    int64_t step = 0;
    std::string problem = verify_impl(all[i].path, hash_threads, &step);
    if (problem.empty()) return CheckpointInfo{all[i].path, step};
    log::warn(folder_name(all[i].path) + ": " + problem +
              (i + 1 < all.size() ? "; skipping it for the previous one" : "; skipping it (no earlier checkpoint)"));
  }
  return std::nullopt;
}

ResumeMode parse_resume_mode(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  size_t e = text.find_last_not_of(" \t\r\n");
  std::string_view v = b == std::string_view::npos ? std::string_view{} : text.substr(b, e - b + 1);
  if (v.empty())
    throw_invalid("resume is empty", {.key = "resume", .hint = "use auto, never, or the path of a checkpoint folder"});
  if (v == "auto") return {ResumeMode::Kind::Auto, ""};
  if (v == "never") return {ResumeMode::Kind::Never, ""};
  return {ResumeMode::Kind::Path, std::string(v)};
}

std::optional<CheckpointInfo> resolve_resume(const ResumeMode& mode, const std::string& output_dir,
                                             int hash_threads) {
  switch (mode.kind) {
    case ResumeMode::Kind::Never:
      log::info("resume: never; starting fresh");
      return std::nullopt;
    case ResumeMode::Kind::Auto: {
      auto latest = find_latest_checkpoint(output_dir, hash_threads);
      if (latest)
        log::info("resuming from " + latest->path + " (step " + std::to_string(latest->step) + ")");
      else
        log::info("no valid checkpoint in " + output_dir + "; starting fresh");
      return latest;
    }
    case ResumeMode::Kind::Path: {
      int64_t step = 0;
      std::string problem = verify_impl(mode.path, hash_threads, &step);
      if (!problem.empty())
        throw_invalid("cannot resume from " + mode.path + ": " + problem,
                      {.file = mode.path,
                       .key = "resume",
                       .hint = "point resume at a complete checkpoint-* folder, or use resume: auto to take "
                               "the newest valid one"});
      log::info("resuming from " + mode.path + " (step " + std::to_string(step) + ")");
      return CheckpointInfo{mode.path, step};
    }
  }
  return std::nullopt;
}

}  // namespace fw::trainer
