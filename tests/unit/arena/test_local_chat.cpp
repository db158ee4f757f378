// LocalChatModel on a tiny random checkpoint: batching does not change greedy results,
// stop strings cut the content (the stop text is not returned), max_tokens and
// finish_reason, token counts that match the template's encoding, and clear errors for
// requests the model cannot take.
#include <gtest/gtest.h>

#include "arena/local_chat.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include "core/error.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "tests/integration/tiny_checkpoint.h"
#include "tests/support/test_tmp.h"

namespace {
using fw::arena::LocalChatModel;
using fw::rollout::ChatRequest;

std::string model_dir() { return fw::testing::tmp_dir() + "/local_chat_tiny"; }

class LocalChat : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fw::testing::make_tiny_checkpoint(model_dir());
    model_ = new LocalChatModel(LocalChatModel::load(model_dir(), {.max_batch = 3}));
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static ChatRequest req(const std::string& text, int64_t max_tokens = 8) {
    ChatRequest r;
    r.messages = {{"user", text}};
    r.params.max_tokens = max_tokens;
    return r;
  }
  static LocalChatModel* model_;
};
LocalChatModel* LocalChat::model_ = nullptr;

TEST_F(LocalChat, NameAndTemplate) {
  EXPECT_EQ(model_->name(), "local_chat_tiny");
  EXPECT_EQ(model_->template_name(), "plain");  // the folder declares none
}

TEST_F(LocalChat, BatchingDoesNotChangeGreedyResults) {
  std::vector<ChatRequest> reqs;
  for (int i = 0; i < 7; ++i) reqs.push_back(req("what is " + std::to_string(i * 3) + " plus " + std::to_string(i) + "?", 6 + i % 2));
  reqs[2].params.temperature = 0;  // all greedy; two budgets -> two groups, slices of 3
  const auto together = model_->chat_batch(reqs);
  ASSERT_EQ(together.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto alone = model_->chat_batch({reqs[i]});
    EXPECT_EQ(together[i].content, alone[0].content) << i;
    EXPECT_EQ(together[i].completion_tokens, alone[0].completion_tokens) << i;
    EXPECT_EQ(together[i].finish_reason, alone[0].finish_reason) << i;
    EXPECT_LE(together[i].completion_tokens, reqs[i].params.max_tokens);
  }
}

TEST_F(LocalChat, CountsTokensAsTheTemplateEncodes) {
  const auto tok = fw::data::Tokenizer::load(model_dir());
  const ChatRequest r = req("what is 5 plus 2?", 5);
  const auto ids = fw::data::encode_chat(tok, fw::data::TemplateKind::Plain, r.messages, true).ids;
  const auto out = model_->chat_batch({r});
  EXPECT_EQ(out[0].prompt_tokens, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(model_->check(r), static_cast<int64_t>(ids.size()));
  if (out[0].finish_reason == "length") {
    EXPECT_EQ(out[0].completion_tokens, 5);
  }
}

TEST_F(LocalChat, StopStringCutsTheContent) {
  ChatRequest r = req("what is 1 plus 1?", 24);
  const auto free_run = model_->chat_batch({r})[0];
  ASSERT_GE(free_run.content.size(), 3u) << "the tiny model produced too little text to test with";
  // Stop at a piece of the free-running text: the content ends right before it.
  const std::string stop = free_run.content.substr(free_run.content.size() / 2, 2);
  r.params.stop = {stop};
  const auto stopped = model_->chat_batch({r})[0];
  EXPECT_EQ(stopped.finish_reason, "stop");
  EXPECT_EQ(stopped.content, free_run.content.substr(0, free_run.content.find(stop)));
  EXPECT_LE(stopped.completion_tokens, free_run.completion_tokens);
}

TEST_F(LocalChat, ZeroMaxTokensGivesNothing) {
  const auto out = model_->chat_batch({req("hello", 0)})[0];
  EXPECT_EQ(out.content, "");
  EXPECT_EQ(out.completion_tokens, 0);
  EXPECT_EQ(out.finish_reason, "length");
}

TEST_F(LocalChat, SeededSamplingIsReproducible) {
  ChatRequest r = req("what is 9 plus 4?", 10);
  r.params.temperature = 1.0;
  r.params.seed = 42;
  EXPECT_EQ(model_->chat_batch({r})[0].content, model_->chat_batch({r})[0].content);
}

TEST_F(LocalChat, BadRequestsAreInputErrors) {
  std::string huge;
  for (int i = 0; i < 300; ++i) huge += "what is " + std::to_string(i) + " ";
  struct Case {
    ChatRequest r;
    std::string key;
  };
  std::vector<Case> cases;
  cases.push_back({req(huge), "messages"});
  cases.push_back({req("x"), "temperature"});
  cases.back().r.params.temperature = -1;
  cases.push_back({req("x"), "stop"});
  cases.back().r.params.stop = {""};
  cases.push_back({req("x"), "messages[1]"});
  cases.back().r.messages.push_back({"robot", "hi"});
  for (const auto& c : cases) {
    try {
      model_->chat_batch({c.r});
      ADD_FAILURE() << "expected an error for " << c.key;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput) << e.what();
      EXPECT_EQ(e.context().key.rfind(c.key, 0), 0u) << e.what();
    }
  }
}

}  // namespace

namespace {
using fw::arena::CompletionJob;

// n choices with a seed: reproducible, not all equal, and choice 0 is what the same
// request with n = 1 gives; streaming events concatenate to each choice's text; a
// listener that returns false cancels its choice at the next token.
TEST_F(LocalChat, ChoicesStreamAndCancel) {
  CompletionJob job;
  job.messages = {{"user", "what is 5 plus 8?"}};
  job.params.temperature = 1.0;
  job.params.max_tokens = 20;
  job.params.seed = 9;
  job.n = 3;
  job.top_logprobs = 2;
  std::map<int64_t, std::string> streamed;
  std::map<int64_t, std::string> reasons;
  job.on_event = [&](const CompletionJob::Event& ev) {
    streamed[ev.choice] += ev.delta;
    if (!ev.finish_reason.empty()) reasons[ev.choice] = ev.finish_reason;
    return true;
  };
  const auto a = model_->complete({job});
  ASSERT_EQ(a[0].choices.size(), 3u);
  std::set<std::string> distinct;
  for (int64_t c = 0; c < 3; ++c) {
    const auto& ch = a[0].choices[static_cast<size_t>(c)];
    EXPECT_EQ(streamed[c], ch.text) << c;
    EXPECT_EQ(reasons[c], ch.finish_reason) << c;
    EXPECT_FALSE(ch.logprobs.empty());
    for (const auto& lp : ch.logprobs) EXPECT_EQ(lp.top.size(), 2u);
    distinct.insert(ch.text);
  }
  EXPECT_GT(distinct.size(), 1u);
  job.on_event = nullptr;
  const auto b = model_->complete({job});
  for (size_t c = 0; c < 3; ++c) EXPECT_EQ(a[0].choices[c].text, b[0].choices[c].text) << c;
  CompletionJob one = job;
  one.n = 1;
  EXPECT_EQ(model_->complete({one})[0].choices[0].text, a[0].choices[0].text);

  // Cancelling: the listener says stop after its first event; that choice has generated
  // only the tokens up to that event, plus nothing more.
  CompletionJob greedy;
  greedy.messages = {{"user", "tell me about 7"}};
  greedy.params.temperature = 0;
  greedy.params.max_tokens = 40;
  int64_t tokens_at_cancel = -1;
  greedy.on_event = [&](const CompletionJob::Event& ev) {
    tokens_at_cancel = ev.completion_tokens;
    return false;
  };
  const auto cut = model_->complete({greedy});
  greedy.on_event = nullptr;
  const auto whole = model_->complete({greedy});
  ASSERT_GT(whole[0].choices[0].completion_tokens, tokens_at_cancel) << "the free run must outlast the first event";
  EXPECT_EQ(cut[0].choices[0].finish_reason, "cancelled");
  EXPECT_EQ(cut[0].choices[0].completion_tokens, tokens_at_cancel);
}

// Raw prompts (/v1/completions) skip the template.
TEST_F(LocalChat, RawPromptsSkipTheTemplate) {
  CompletionJob raw;
  raw.prompt = "5 plus 8 is";
  raw.params.max_tokens = 4;
  raw.params.temperature = 0;
  const auto r = model_->complete({raw});
  const auto tok = fw::data::Tokenizer::load(model_dir());
  EXPECT_EQ(r[0].prompt_tokens, static_cast<int64_t>(tok.encode("5 plus 8 is", tok.bos_id() >= 0).size()));
}

}  // namespace

namespace {
using fw::arena::CompletionJob;

// Continuous batching: a short request started while a long one runs finishes first,
// with the text it has alone.
TEST_F(LocalChat, AShortJobStartedMidwayFinishesBeforeALongOne) {
  CompletionJob long_job, short_job;
  long_job.messages = {{"user", "tell me a long story about 3"}};
  long_job.params.temperature = 0;
  long_job.params.max_tokens = 60;
  short_job.messages = {{"user", "what is 1 plus 1?"}};
  short_job.params.temperature = 0;
  short_job.params.max_tokens = 5;
  const auto long_alone = model_->complete({long_job});
  const auto short_alone = model_->complete({short_job});
  ASSERT_GT(long_alone[0].choices[0].completion_tokens, 12) << "the long job must outlast the short one";

  const int64_t long_ticket = model_->start({long_job})[0];
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(model_->step().empty());
  const int64_t short_ticket = model_->start({short_job})[0];
  std::vector<int64_t> order;
  std::map<int64_t, fw::arena::CompletionResult> got;
  while (model_->busy())
    for (auto& [t, r] : model_->step()) {
      order.push_back(t);
      got[t] = std::move(r);
    }
  EXPECT_EQ(order, (std::vector<int64_t>{short_ticket, long_ticket}));
  EXPECT_EQ(got[short_ticket].choices[0].text, short_alone[0].choices[0].text);
  EXPECT_EQ(got[long_ticket].choices[0].text, long_alone[0].choices[0].text);
}

}  // namespace

namespace {

// A model's own template reads the model's chat_template_kwargs and each request's over
// them (vLLM's chat_template_kwargs); a built-in template refuses them.
TEST_F(LocalChat, TemplateKwargsFromTheModelAndTheRequest) {
  namespace fs = std::filesystem;
  const std::string dir = fw::testing::tmp_dir() + "/local_chat_jinja";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(model_dir()))
    fs::copy_file(e.path(), dir + "/" + e.path().filename().string(), fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/chat_template.jinja")
      << "{% for m in messages %}User: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}Assistant:"
         "{% if brief is defined and brief %} In short,{% endif %}{% endif %}";
  const LocalChatModel plain_model = LocalChatModel::load(dir, {.template_name = "jinja"});
  const LocalChatModel brief_model =
      LocalChatModel::load(dir, {.template_name = "jinja", .template_kwargs = {{"brief", true}}});
  CompletionJob job;
  job.messages = {{"user", "what is 5 plus 2?"}};
  const int64_t base = plain_model.check(job);
  EXPECT_GT(brief_model.check(job), base);
  job.template_kwargs = {{"brief", true}};
  EXPECT_EQ(plain_model.check(job), brief_model.check(CompletionJob{.messages = job.messages}));
  job.template_kwargs = {{"brief", false}};  // the request's win
  EXPECT_EQ(brief_model.check(job), base);

  try {
    LocalChatModel::load(model_dir(), {.template_name = "plain", .template_kwargs = {{"brief", true}}});
    ADD_FAILURE() << "a built-in template took keyword arguments";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.context().key, "chat_template_kwargs") << e.what();
  }
}

}  // namespace
