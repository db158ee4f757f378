// Crash-safe file replacement: write a temporary file beside the target, fsync it,
// rename it over the target, fsync the folder. A reader sees the old or the new file,
// never a torn one.
#pragma once

#include <string>
#include <string_view>

namespace fw {

void write_file_atomic(const std::string& path, std::string_view bytes);

// fsync a folder so a rename inside it is durable.
void fsync_directory(const std::string& dir);

}  // namespace fw
