#include "core/error.h"

namespace fw {

std::string format_error(const std::string& message, const ErrorContext& ctx) {
  std::string out;
  if (!ctx.file.empty()) {
    out += ctx.file;
    if (ctx.line > 0) {
      out += ":" + std::to_string(ctx.line);
      if (ctx.column > 0) out += ":" + std::to_string(ctx.column);
    }
    out += ": ";
  }
  if (!ctx.key.empty()) out += ctx.key + ": ";
  out += message;
  if (!ctx.hint.empty()) out += " (hint: " + ctx.hint + ")";
  return out;
}

Error::Error(ErrorKind kind, std::string message, ErrorContext ctx)
    : std::runtime_error(format_error(message, ctx)),
      kind_(kind),
      message_(std::move(message)),
      ctx_(std::move(ctx)) {}

void throw_invalid(std::string message, ErrorContext ctx) {
  throw Error(ErrorKind::InvalidInput, std::move(message), std::move(ctx));
}

void throw_runtime(std::string message, ErrorContext ctx) {
  throw Error(ErrorKind::Runtime, std::move(message), std::move(ctx));
}

int exit_code(const Error& e) { return e.kind() == ErrorKind::InvalidInput ? 2 : 1; }

}  // namespace fw
