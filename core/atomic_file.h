// Crash-safe file replacement: write a temporary file beside the target, fsync it,
// rename it over the target, fsync the folder. A reader sees the old or the new file,
// never a torn one.
#pragma once

#include <string>
#include <string_view>

namespace fw {

void write_file_atomic(const std::string& path, std::string_view bytes);

// The same, streamed: write() appends to a temporary file; commit() fsyncs and renames
// it over `path`. Destroyed without commit(), the temporary file is removed and `path` is
// untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
};

// fsync a folder so a rename inside it is durable.
void fsync_directory(const std::string& dir);

}  // namespace fw
