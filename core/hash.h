// SHA-256 through OpenSSL's EVP API, as lowercase hex (64 characters).
#pragma once

#include <string>
#include <string_view>

namespace fw {

// The digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

// The digest of a file, read in 1 MiB chunks (constant memory for multi-GB files).
// Throws fw::Error (Runtime) naming the file if it cannot be opened or read.
std::string sha256_file(const std::string& path);

// Incremental form, for data that arrives in pieces (e.g. while it is being written).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  std::string hex_digest();  // finishes the digest; the object must not be updated after

 private:
  void* ctx_ = nullptr;  // EVP_MD_CTX*
};

}  // namespace fw
