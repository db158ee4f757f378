// flywheel: the program users run. The text commands (tokenize, template, elo,
// consistency) run here, in a process that never loads LibTorch (whose start-up alone is
// about half a second); every other command, --help and --version are handed to
// flywheel-torch beside this program (execv: the same process, arguments and exit code).
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "apps/cli.h"

namespace {

// The subcommand argv names: the first argument that is not a global option; "" when an
// option comes first that the text app does not take (--help, --version, a typo).
std::string_view subcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--log-level") {
      ++i;
      continue;
    }
    if (a.rfind("--log-level=", 0) == 0) continue;
    return a.empty() || a[0] == '-' ? std::string_view{} : a;
  }
  return {};
}

bool asks_version(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--version") return true;
  return false;
}

// flywheel-torch in this program's folder (bin/): found from /proc/self/exe, else from
// argv[0] when it names a path; "" when neither says where this program is.
std::string torch_program(const char* argv0) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv0 ? argv0 : "");
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1) + "flywheel-torch";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view sub = subcommand(argc, argv);
  if (!asks_version(argc, argv))
    for (const auto& c : fw::apps::text_commands())
      if (sub == c.name) return fw::apps::run_cli(argc, argv, fw::apps::text_commands(), FLYWHEEL_VERSION);
  const std::string program = torch_program(argv[0]);
  if (!program.empty()) execv(program.c_str(), argv);
  std::fprintf(stderr, "flywheel: cannot start %s: %s (bin/flywheel-torch must stay beside bin/flywheel)\n",
               program.empty() ? "flywheel-torch (this program's folder is unknown)" : program.c_str(),
               program.empty() ? "no path" : std::strerror(errno));
  return 127;  // as a shell says a command could not be run
}
