// fw::Error — the one exception type. It carries where the problem is (file:line of the
// input, or a YAML key path) and an optional hint, so every message a user sees names the
// thing to fix. apps/ map Kind to the exit code: 2 for bad input or config, 1 otherwise.
#pragma once

#include <stdexcept>
#include <string>

namespace fw {

enum class ErrorKind {
  InvalidInput,  // bad data, config, checkpoint or arguments: the user must fix something
  Runtime,       // a failure while doing valid work (I/O error, OOM, a dead peer)
};

struct ErrorContext {
  std::string file;      // input file, empty if none
  long line = 0;         // 1-based line in `file`, 0 if unknown
  long column = 0;       // 1-based column, 0 if unknown
  std::string key;       // config key path ("optim.lr") or tensor name, empty if none
  std::string hint;      // what to do about it, empty if nothing useful to say
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, ErrorContext ctx = {});

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }  // without the context
  const ErrorContext& context() const { return ctx_; }

 private:
  ErrorKind kind_;
  std::string message_;
  ErrorContext ctx_;
};

// Shorthands for the common cases.
[[noreturn]] void throw_invalid(std::string message, ErrorContext ctx = {});
[[noreturn]] void throw_runtime(std::string message, ErrorContext ctx = {});

// "file:line:col: key: message (hint: ...)" — the text Error::what() returns.
std::string format_error(const std::string& message, const ErrorContext& ctx);

// Exit code for a main(): 2 invalid input, 1 runtime.
int exit_code(const Error& e);

}  // namespace fw
