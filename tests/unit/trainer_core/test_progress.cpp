#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/log.h"
#include "trainer/progress.h"

namespace {
using fw::trainer::Progress;
using fw::trainer::ProgressOptions;

// Captures what a Progress writes, with a clock the test moves by hand.
struct Harness {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = nullptr;
  double now = 0;
  Harness() { f = open_memstream(&buf, &size); }
  ~Harness() {
    std::fclose(f);
    std::free(buf);
  }
  ProgressOptions options(bool tty) {
    ProgressOptions o;
    o.is_tty = tty;
    o.clock = [this] { return now; };
    return o;
  }
  std::string text() {
    std::fflush(f);
    return std::string(buf, size);
  }
};

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

TEST(Progress, FormatsNumbersCompactly) {
  using fw::trainer::format_metric;
  EXPECT_EQ(format_metric(1.234), "1.234");
  EXPECT_EQ(format_metric(0.5), "0.5");
  EXPECT_EQ(format_metric(3e-5), "3.0e-05");
  EXPECT_EQ(format_metric(51200.0), "51200");
  EXPECT_EQ(format_metric(0.0), "0");
  EXPECT_EQ(format_metric(-2.0), "-2");
  EXPECT_EQ(format_metric(std::nan("")), "nan");
  using fw::trainer::format_duration;
  EXPECT_EQ(format_duration(59.4), "00:59");
  EXPECT_EQ(format_duration(170), "02:50");
  EXPECT_EQ(format_duration(3725), "1:02:05");
}

TEST(Progress, EtaCountsFromThisProcessStartStep) {
  // Resumed at step 100 of 1000; 50 steps in 10 s -> 5 steps/s; 850 left -> 170 s.
  Harness h;
  Progress p(1000, 100, h.f, h.options(false));
  h.now = 10;
  p.update(150, {{"loss", 1.234}, {"lr", 3e-5}});
  EXPECT_EQ(h.text(), "step 150/1000 (15%) elapsed 00:10 eta 02:50 5.00 step/s loss=1.234 lr=3.0e-05\n");
}

TEST(Progress, SlowStepsShowSecondsPerStep) {
  Harness h;
  Progress p(10, 0, h.f, h.options(false));
  h.now = 2.5;
  p.update(1);
  EXPECT_EQ(h.text(), "step 1/10 (10%) elapsed 00:02 eta 00:22 2.50 s/step\n");  // 9 * 2.5 = 22.5 s
}

TEST(Progress, NonTerminalPrintsFirstLastAndAtMostOncePerInterval) {
  Harness h;
  auto o = h.options(false);
  o.interval_seconds = 10;
  Progress p(20, 0, h.f, o);
  for (int step = 1; step <= 20; ++step) {
    h.now = step == 20 ? 26.0 : step * 1.5;  // steps 1..19 at 1.5 s apart
    p.update(step, {{"loss", 1.0 / step}});
  }
  p.finish();  // the last step was just printed: no repeat
  const std::string out = h.text();
  // Step 1 (t=1.5, first), step 8 (t=12 >= 1.5+10), step 15 (t=22.5 >= 12+10), step 20 (last).
  EXPECT_EQ(count(out, "\n"), 4u) << out;
  EXPECT_EQ(out.find("step 1/20 "), 0u) << out;
  EXPECT_NE(out.find("\nstep 8/20 "), std::string::npos) << out;
  EXPECT_NE(out.find("\nstep 15/20 "), std::string::npos) << out;
  EXPECT_NE(out.find("\nstep 20/20 (100%) elapsed 00:26 eta 00:00 "), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

TEST(Progress, FinishPrintsTheLastUnprintedStep) {
  Harness h;
  Progress p(100, 0, h.f, h.options(false));
  h.now = 1;
  p.update(1);
  h.now = 2;
  p.update(2);  // throttled
  EXPECT_EQ(count(h.text(), "\n"), 1u);
  p.finish();
  const std::string out = h.text();
  EXPECT_EQ(count(out, "\n"), 2u) << out;
  EXPECT_NE(out.find("\nstep 2/100 (2%) elapsed 00:02 eta 01:38 1.00 step/s\n"), std::string::npos) << out;
  p.finish();  // idempotent
  EXPECT_EQ(h.text(), out);
}

TEST(Progress, TerminalRedrawsOneLineInPlace) {
  Harness h;
  auto o = h.options(true);
  o.tty_interval_seconds = 0.5;
  Progress p(10, 0, h.f, o);
  h.now = 1;
  p.update(1, {{"loss", 2.0}});
  h.now = 1.2;
  p.update(2, {{"loss", 1.9}});  // within 0.5 s: not redrawn
  h.now = 2.5;
  p.update(5, {{"loss", 1.5}});
  std::string out = h.text();
  EXPECT_EQ(count(out, "\r"), 2u) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;  // no newline until finish()
  EXPECT_NE(out.find("\r5/10  50% [##########..........] 00:02<00:02 2.00 step/s loss=1.5\x1b[K"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("loss=1.9"), std::string::npos) << out;

  h.now = 5;
  p.update(10, {{"loss", 1.0}});  // the last step is always drawn
  p.finish();
  out = h.text();
  EXPECT_NE(out.find("\r10/10 100% [####################] 00:05<00:00 2.00 step/s loss=1\x1b[K"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(count(out, "\n"), 1u);
}

TEST(Progress, ClearErasesTheBarAndTheNextUpdateRedraws) {
  Harness h;
  Progress p(10, 0, h.f, h.options(true));
  h.now = 1;
  p.update(1);
  p.clear();
  EXPECT_NE(h.text().find("\r\x1b[K"), std::string::npos);
  const size_t before = count(h.text(), "\r");
  p.update(2);  // same instant, but the bar was erased: drawn again
  EXPECT_EQ(count(h.text(), "\r"), before + 1);
}

TEST(Progress, UnknownTotalHasNoPercentOrEta) {
  Harness h;
  Progress p(0, 0, h.f, h.options(false));
  h.now = 4;
  p.update(8);
  EXPECT_EQ(h.text(), "step 8 elapsed 00:04 eta ? 2.00 step/s\n");
}

TEST(Progress, DisabledPrintsNothing) {
  Harness h;
  auto o = h.options(true);
  o.enabled = false;
  {
    Progress p(10, 0, h.f, o);
    p.update(1);
    p.update(10);
    p.finish();
  }
  EXPECT_EQ(h.text(), "");
}

TEST(Progress, OnlyRankZeroPrintsByDefault) {
  Harness h;
  fw::log::set_rank(1, 2);
  {
    auto o = h.options(false);
    Progress p(10, 0, h.f, o);
    p.update(1);
    p.finish();
  }
  fw::log::set_rank(0, 1);
  EXPECT_EQ(h.text(), "");
}

TEST(Progress, DestructorEndsAnOpenTerminalLine) {
  Harness h;
  {
    Progress p(10, 0, h.f, h.options(true));
    h.now = 1;
    p.update(3);
  }
  EXPECT_EQ(h.text().back(), '\n');
}

}  // namespace
