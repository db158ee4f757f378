// TextStream: streamed deltas concatenate to the final text, never split a UTF-8
// character or show the start of a stop string; cut_at_stop is OpenAI's rule.
#include <gtest/gtest.h>

#include "rollout/text_stream.h"

namespace {
using fw::rollout::complete_utf8_prefix;
using fw::rollout::cut_at_stop;
using fw::rollout::TextStream;

TEST(TextStream, CutAtStopEndsBeforeTheFirstStopString) {
  EXPECT_EQ(cut_at_stop("one. two. three", {". t"}), "one");
  EXPECT_EQ(cut_at_stop("abcXYdefZ", {"Z", "XY"}), "abc");
  EXPECT_EQ(cut_at_stop("nothing here", {"zz"}), "nothing here");
}

TEST(TextStream, CompleteUtf8PrefixLeavesOutAnUnfinishedCharacter) {
  struct Case {
    std::string text;
    size_t want;
  };
  const std::vector<Case> cases = {
      {"abc", 3},
      {"caf\xC3", 3},                 // é's first byte only
      {"caf\xC3\xA9", 5},             // é whole
      {"x\xE2\x82", 1},               // € missing its last byte
      {"x\xE2\x82\xAC", 4},           // € whole
      {"x\xF0\x9F\x98", 1},           // an emoji's first three bytes
      {"x\xF0\x9F\x98\x80", 5},       // the emoji whole
      {"ab\xEF\xBF\xBD", 2},          // a decoder's replacement character: may still change
      {"ab\xEF\xBF\xBD\xEF\xBF\xBD", 2},  // one per byte of an unfinished character
  };
  for (const auto& c : cases) EXPECT_EQ(complete_utf8_prefix(c.text), c.want) << c.text;
}

// Decoding a growing token list: every push sees the whole text so far.
std::string stream_all(const std::vector<std::string>& growing, const std::vector<std::string>& stop,
                       std::vector<std::string>* deltas) {
  TextStream s(stop);
  std::string out;
  for (const auto& text : growing) {
    const std::string d = s.push(text);
    if (deltas && !d.empty()) deltas->push_back(d);
    out += d;
  }
  const std::string rest = s.finish(cut_at_stop(growing.back(), stop));
  if (deltas && !rest.empty()) deltas->push_back(rest);
  return out + rest;
}

TEST(TextStream, DeltasConcatenateToTheFinalTextAndSplitNoCharacter) {
  const std::vector<std::string> growing = {"Le", "Le caf", "Le caf\xC3", "Le caf\xC3\xA9 co\xE2\x82",
                                            "Le caf\xC3\xA9 co\xE2\x82\xAC", "Le caf\xC3\xA9 co\xE2\x82\xAC!"};
  std::vector<std::string> deltas;
  EXPECT_EQ(stream_all(growing, {}, &deltas), growing.back());
  for (const auto& d : deltas) EXPECT_EQ(complete_utf8_prefix(d), d.size()) << d;
}

// SentencePiece's byte fallback decodes each byte of an unfinished character as U+FFFD
// until the character is whole: none of them may be sent.
TEST(TextStream, ByteFallbackStandInsAreNeverSent) {
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::string> growing = {"co", "co" + fffd, "co" + fffd + fffd, "co\xE2\x82\xAC", "co\xE2\x82\xAC!"};
  std::vector<std::string> deltas;
  EXPECT_EQ(stream_all(growing, {}, &deltas), growing.back());
  for (const auto& d : deltas) EXPECT_EQ(d.find(fffd), std::string::npos) << d;
}

TEST(TextStream, TheStartOfAStopStringIsHeldBackAndTheStopNeverSent) {
  // "END" arrives a letter at a time; nothing of it may be sent.
  const std::vector<std::string> growing = {"ok E", "ok EN", "ok END", "ok END more"};
  std::vector<std::string> deltas;
  EXPECT_EQ(stream_all(growing, {"END"}, &deltas), "ok ");
  for (const auto& d : deltas) EXPECT_EQ(d.find('E'), std::string::npos) << d;
  // A held prefix that does not become the stop string is sent once it is ruled out.
  TextStream s({"END"});
  EXPECT_EQ(s.push("ok E"), "ok ");
  EXPECT_EQ(s.push("ok Ex"), "Ex");
  EXPECT_EQ(s.finish("ok Ex"), "");
}

}  // namespace
