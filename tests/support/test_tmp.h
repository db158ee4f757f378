#pragma once
// Scratch space for tests. gtest_discover_tests runs every TEST as its own process and
// ctest runs them in parallel, so a fixed path under the build folder would be written by
// several processes at once (one truncating a file another is reading). Each test process
// gets its own folder instead; it is removed at exit when every test in the process passed
// and kept for inspection otherwise.
#include <string>

namespace fw::testing {

// <build>/test-tmp/p<pid>, created empty on first use.
const std::string& tmp_dir();

}  // namespace fw::testing
