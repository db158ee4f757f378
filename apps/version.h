#pragma once

namespace fw::apps {
// "0.1.0 (torch 2.11.0)".
const char* version_string();
}  // namespace fw::apps
