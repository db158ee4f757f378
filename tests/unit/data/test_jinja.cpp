#include <gtest/gtest.h>

#include "data/chat/jinja.h"

TEST(Jinja, Smoke) {
  auto t = fw::data::JinjaTemplate::parse("{% for m in messages %}{{ m.role }}:{{ m['content'] }};{% endfor %}", "t");
  nlohmann::ordered_json ctx = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  EXPECT_EQ(t.render(ctx).text, "user:hi;");
}
