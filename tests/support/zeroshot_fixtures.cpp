#include "tests/support/zeroshot_fixtures.h"

#include "tests/support/test_env.h"

#include <filesystem>

namespace ptq::test {

void write_zeroshot_fixtures(const std::string& dir) {
  namespace fs = std::filesystem;
  for (const char* sub : {"piqa", "arc", "boolq", "hellaswag", "winogrande", "lambada"}) fs::create_directories(fs::path(dir) / sub);
  write_text(dir + "/piqa/valid.jsonl",
             R"({"goal": "To clean a block", "sol1": "wipe it with a cloth", "sol2": "drop it in the river"})" "\n"
             R"({"goal": "Make the model small", "sol1": "quantize the weights", "sol2": "add more layers to it"})" "\n"
             R"({"goal": "Find the error", "sol1": "read the song", "sol2": "check the scale"})" "\n");
  write_text(dir + "/piqa/valid-labels.lst", "0\n0\n1\n");
  // Two in the original ARC-V1-Feb2018 layout (one with numeric labels), one in the flat HF layout.
  write_text(dir + "/arc/ARC-Easy-Test.jsonl",
             R"({"id": "a1", "question": {"stem": "Which is a channel?", "choices": [{"text": "a river", "label": "A"}, {"text": "a song", "label": "B"}, {"text": "a team", "label": "C"}]}, "answerKey": "A"})" "\n"
             R"({"id": "a2", "question": {"stem": "What does a layer learn?", "choices": [{"text": "scale", "label": "1"}, {"text": "weight", "label": "2"}, {"text": "city", "label": "3"}, {"text": "war", "label": "4"}]}, "answerKey": "2"})" "\n"
             R"({"id": "a3", "question": "What clips an outlier?", "choices": {"text": ["the model", "the album"], "label": ["A", "B"]}, "answerKey": "B"})" "\n");
  write_text(dir + "/arc/ARC-Challenge-Test.jsonl",
             R"({"id": "c1", "question": {"stem": "Which year came first?", "choices": [{"text": "1998", "label": "A"}, {"text": "2010", "label": "B"}]}, "answerKey": "A"})" "\n");
  // Original BoolQ ("answer": bool) and SuperGLUE ("label": 0/1) layouts.
  write_text(dir + "/boolq/dev.jsonl",
             R"({"question": "is the block small", "title": "Block", "answer": true, "passage": "The block is small."})" "\n"
             R"({"question": "does the river learn", "passage": "A river is water.", "idx": 1, "label": 0})" "\n"
             R"({"question": "is a song music", "passage": "A song is music.", "idx": 2, "label": true})" "\n");
  write_text(dir + "/hellaswag/hellaswag_val.jsonl",
             R"({"ind": 1, "activity_label": "Cleaning", "ctx_a": "A man takes a cloth.", "ctx_b": "HE WIPES the table", "ctx": "", "split": "val", "split_type": "indomain", "label": 2, "endings": ["and drops it.", " [header] he  stops.", "and the table shines.", "then leaves [title] Done"], "source_id": "x"})" "\n"
             R"({"ind": 2, "activity_label": "Home and Garden", "ctx_a": "[header] How to plant a tree.", "ctx_b": "", "ctx": "", "split": "val", "split_type": "zeroshot", "label": "0", "endings": ["Dig a hole.", "Sing a song.", "Play a game.", "Read a year."], "source_id": "y"})" "\n"
             R"({"ind": 3, "activity_label": "Music", "ctx_a": "She plays the song.", "ctx_b": "the crowd", "ctx": "", "split": "val", "split_type": "indomain", "label": 1, "endings": ["leaves.", "cheers.", "sleeps.", "eats."], "source_id": "z"})" "\n");
  write_text(dir + "/winogrande/dev.jsonl",
             R"({"qID": "w1", "sentence": "The river flooded the city because _ was too high.", "option1": "the river", "option2": "the city", "answer": "1"})" "\n"
             R"({"qID": "w2", "sentence": "The model beat the team since _ was stronger.", "option1": "the model", "option2": "the team", "answer": "1"})" "\n"
             R"({"qID": "w3", "sentence": "The song fit the album, but _ was too long.", "option1": "the song", "option2": "the album", "answer": "2"})" "\n");
  write_text(dir + "/lambada/lambada_test.jsonl",
             R"({"text": "The model learns the scale of the block"})" "\n"
             R"({"text": "A river runs through the city"})" "\n"
             R"({"text": "The team plays the first game"})" "\n");
}

}  // namespace ptq::test
