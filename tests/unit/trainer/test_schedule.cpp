#include <gtest/gtest.h>

#include <cmath>

#include "trainer/optim.h"
#include "trainer/schedule.h"

namespace {
using namespace fw::trainer;

TEST(Schedule, WarmupThenDecayTable) {
  ScheduleOptions o{ScheduleKind::Cosine, 1.0, 10, 110, 0.1};
  struct Case { ScheduleKind kind; int64_t step; double lr; };
  for (const Case& c : {Case{ScheduleKind::Cosine, 0, 0.0}, Case{ScheduleKind::Cosine, 5, 0.5},
                        Case{ScheduleKind::Cosine, 10, 1.0}, Case{ScheduleKind::Cosine, 60, 0.1 + 0.9 * 0.5},
                        Case{ScheduleKind::Cosine, 110, 0.1}, Case{ScheduleKind::Linear, 35, 0.1 + 0.9 * 0.75},
                        Case{ScheduleKind::Constant, 100, 1.0}}) {
    o.kind = c.kind;
    EXPECT_NEAR(lr_at(c.step, o), c.lr, 1e-12) << "step " << c.step;
  }
}

TEST(Optim, NoDecayOnNormsBiasesAndEmbeddings) {
  OptimOptions o;
  EXPECT_TRUE(decays("model.layers.0.mlp.up_proj.weight", o));
  EXPECT_TRUE(decays("lm_head.weight", o));
  EXPECT_FALSE(decays("model.layers.0.input_layernorm.weight", o));
  EXPECT_FALSE(decays("model.norm.weight", o));
  EXPECT_FALSE(decays("model.layers.0.self_attn.q_proj.bias", o));
  EXPECT_FALSE(decays("model.embed_tokens.weight", o));
  o.decay_embeddings = true;
  EXPECT_TRUE(decays("model.embed_tokens.weight", o));
}

}  // namespace
