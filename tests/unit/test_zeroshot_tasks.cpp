// Each zero-shot task's loader on a hand-written 3-example file: the exact lm-eval v0.3.0 requests,
// metrics computed by hand from given log-likelihoods, and malformed files rejected with file:line.
#include "evaluators/zeroshot/tasks.h"
#include "evaluators/zeroshot/zeroshot.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"
#include "tests/support/zeroshot_fixtures.h"

#include <catch2/catch.hpp>

#include <cmath>

using Catch::Matchers::Contains;
using ptq::eval::LoglikRequest;
using ptq::test::TempDir;

namespace {

std::vector<std::pair<std::string, std::string>> requests_of(const ptq::eval::ZeroShotDoc& d) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : d.requests) out.emplace_back(r.context, r.continuation);
  return out;
}
using Pairs = std::vector<std::pair<std::string, std::string>>;

std::vector<std::vector<ptq::eval::LoglikResult>> lls(const std::vector<std::vector<double>>& v) {
  std::vector<std::vector<ptq::eval::LoglikResult>> out;
  for (const auto& doc : v) {
    out.emplace_back();
    for (const double x : doc) out.back().push_back({x, false});
  }
  return out;
}

}  // namespace

TEST_CASE("piqa: Question/Answer template, two solutions, labels from valid-labels.lst", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto docs = ptq::eval::load_piqa(dir.file("piqa/valid.jsonl"), dir.file("piqa/valid-labels.lst"));
  REQUIRE(docs.size() == 3);
  CHECK(requests_of(docs[0]) == Pairs{{"Question: To clean a block\nAnswer:", " wipe it with a cloth"},
                                      {"Question: To clean a block\nAnswer:", " drop it in the river"}});
  CHECK(docs[0].choices == std::vector<std::string>{"wipe it with a cloth", "drop it in the river"});
  CHECK(docs[2].gold == 1);
}

TEST_CASE("arc: both file layouts, numeric answer keys mapped to letters", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto docs = ptq::eval::load_arc(dir.file("arc/ARC-Easy-Test.jsonl"));
  REQUIRE(docs.size() == 3);
  CHECK(requests_of(docs[0]) == Pairs{{"Question: Which is a channel?\nAnswer:", " a river"},
                                      {"Question: Which is a channel?\nAnswer:", " a song"},
                                      {"Question: Which is a channel?\nAnswer:", " a team"}});
  CHECK(docs[0].gold == 0);
  CHECK(docs[1].requests.size() == 4);
  CHECK(docs[1].gold == 1);  // answerKey "2" -> "B"
  CHECK(requests_of(docs[2]) == Pairs{{"Question: What clips an outlier?\nAnswer:", " the model"},
                                      {"Question: What clips an outlier?\nAnswer:", " the album"}});
  CHECK(docs[2].gold == 1);
}

TEST_CASE("boolq: passage/question template, yes before no, both label layouts", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto docs = ptq::eval::load_boolq(dir.file("boolq/dev.jsonl"));
  REQUIRE(docs.size() == 3);
  CHECK(requests_of(docs[0]) == Pairs{{"The block is small.\nQuestion: is the block small?\nAnswer:", " yes"},
                                      {"The block is small.\nQuestion: is the block small?\nAnswer:", " no"}});
  CHECK(docs[0].gold == 0);  // answer true -> yes
  CHECK(docs[1].gold == 1);  // label 0 -> no
  CHECK(docs[2].gold == 0);
}

TEST_CASE("hellaswag: capitalize ctx_b, strip brackets, [title] and double spaces", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto docs = ptq::eval::load_hellaswag(dir.file("hellaswag/hellaswag_val.jsonl"));
  REQUIRE(docs.size() == 3);
  // "Cleaning: A man takes a cloth. He wipes the table" ("HE WIPES".capitalize() -> "He wipes")
  const std::string ctx0 = "Cleaning: A man takes a cloth. He wipes the table";
  CHECK(requests_of(docs[0]) == Pairs{{ctx0, " and drops it."},
                                      // strip, then "[header]" removed (its space stays), "  " -> " ": " he stops."
                                      {ctx0, "  he stops."},
                                      {ctx0, " and the table shines."},
                                      {ctx0, " then leaves. Done"}});  // " [title]" -> ". "
  CHECK(docs[0].gold == 2);
  // "Home and Garden: [header] How to plant a tree. " -> brackets removed, strip, then " How" double space
  CHECK(docs[1].requests[0].context == "Home and Garden: How to plant a tree.");
  CHECK(docs[1].gold == 0);  // label given as a string
  CHECK(docs[2].requests[1].context == "Music: She plays the song. The crowd");
  // Python: one pass of replace("  ", " ") turns three spaces into two.
  CHECK(ptq::eval::hellaswag_preprocess("  a [x]  b   c [title] d ") == "a  b  c. d");
}

TEST_CASE("winogrande: partial evaluation, one shared target after the blank", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto docs = ptq::eval::load_winogrande(dir.file("winogrande/dev.jsonl"));
  REQUIRE(docs.size() == 3);
  CHECK(requests_of(docs[0]) == Pairs{{"The river flooded the city because the river", " was too high."},
                                      {"The river flooded the city because the city", " was too high."}});
  CHECK(docs[0].gold == 0);
  CHECK(docs[2].requests[1].context == "The song fit the album, but the album");
  CHECK(docs[2].gold == 1);
}

TEST_CASE("lambada: the last word after the last space is the continuation", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto docs = ptq::eval::load_lambada(dir.file("lambada/lambada_test.jsonl"));
  REQUIRE(docs.size() == 3);
  CHECK(requests_of(docs[0]) == Pairs{{"The model learns the scale of the", " block"}});
}

TEST_CASE("acc, acc_norm and their stderr from given log-likelihoods", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto task = ptq::eval::load_zeroshot_task("piqa", dir.path());
  // Choice lengths: doc0 20 / 20, doc1 20 / 21, doc2 13 / 15 characters.
  // doc0: lls (-5, -6): acc pick 0 (gold 0) ok; norm pick 0 ok.
  // doc1: lls (-8, -7): acc pick 1 (gold 0) wrong; norm (-8/21, -7/21) pick 1 wrong.
  // doc2: lls (-2.0, -2.2): acc pick 0 (gold 1) wrong; norm (-0.1538, -0.1467) pick 1 right.
  const auto r = ptq::eval::compute_metrics(task, {0, 1, 2}, lls({{-5, -6}, {-8, -7}, {-2.0, -2.2}}));
  CHECK(r.acc.value == Approx(1.0 / 3));
  REQUIRE(r.acc_norm);
  CHECK(r.acc_norm->value == Approx(2.0 / 3));
  // stderr = sample sd / sqrt(n): values {1, 0, 0}: sd = sqrt(1/3), / sqrt(3) = 1/3
  CHECK(r.acc.stderr_value == Approx(1.0 / 3));
  CHECK(r.reported_metric == "acc_norm");
  CHECK(r.reported_value == Approx(2.0 / 3));
  // The reported metric can be overridden where the task has it.
  const auto as_acc = ptq::eval::compute_metrics(task, {0, 1, 2}, lls({{-5, -6}, {-8, -7}, {-2.0, -2.2}}), "acc");
  CHECK(as_acc.reported_value == Approx(1.0 / 3));
  const auto boolq = ptq::eval::load_zeroshot_task("boolq", dir.path());
  CHECK_THROWS_WITH(ptq::eval::compute_metrics(boolq, {0}, lls({{-1, -2}}), "acc_norm"), Contains("no metric 'acc_norm'"));
}

TEST_CASE("boolq decides by ll_yes > ll_no (a tie answers no), winogrande by argmax", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto boolq = ptq::eval::load_zeroshot_task("boolq", dir.path());
  // gold: yes, no, yes. lls: yes wins; tie (-> no, correct); no wins (wrong)
  const auto r = ptq::eval::compute_metrics(boolq, {0, 1, 2}, lls({{-1, -2}, {-3, -3}, {-4, -1}}));
  CHECK(r.acc.value == Approx(2.0 / 3));
  CHECK_FALSE(r.acc_norm);
  const auto wino = ptq::eval::load_zeroshot_task("winogrande", dir.path());
  const auto w = ptq::eval::compute_metrics(wino, {0, 1, 2}, lls({{-1, -1}, {-2, -1}, {-3, -1}}));
  CHECK(w.acc.value == Approx(2.0 / 3));  // a tie takes the first option (numpy argmax)
}

TEST_CASE("lambada: accuracy of greedy matches, ppl = exp(-mean ll)", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  const auto task = ptq::eval::load_zeroshot_task("lambada_openai", dir.path());
  const std::vector<std::vector<ptq::eval::LoglikResult>> res = {{{-1.0, true}}, {{-2.0, false}}, {{-3.0, true}}};
  const auto r = ptq::eval::compute_metrics(task, {0, 1, 2}, res);
  CHECK(r.acc.value == Approx(2.0 / 3));
  REQUIRE(r.ppl);
  CHECK(r.ppl->value == Approx(std::exp(2.0)));
}

TEST_CASE("limit picks lm-eval 0.3's documents (shuffled with Random(42)) or the first ones (0.4)", "[unit][zeroshot]") {
  // random.Random(42).shuffle(list(range(10))) -> [7, 3, 2, 8, 5, 6, 9, 4, 0, 1]
  CHECK(ptq::eval::select_docs(10, 3, ptq::eval::LmEvalMode::kV03) == std::vector<size_t>{7, 3, 2});
  CHECK(ptq::eval::select_docs(10, 3, ptq::eval::LmEvalMode::kV04) == std::vector<size_t>{0, 1, 2});
  CHECK(ptq::eval::select_docs(4, 0, ptq::eval::LmEvalMode::kV03) == std::vector<size_t>{0, 1, 2, 3});
}

TEST_CASE("malformed task files name the file and the line", "[unit][zeroshot]") {
  TempDir dir;
  ptq::test::write_zeroshot_fixtures(dir.path());
  SECTION("malformed jsonl line") {
    ptq::test::write_text(dir.file("boolq/dev.jsonl"), "{\"question\": \"q\", \"passage\": \"p\", \"label\": 1}\n{\"question\": oops}\n");
    CHECK_THROWS_WITH(ptq::eval::load_zeroshot_task("boolq", dir.path()), Contains("boolq/dev.jsonl: line 2 is not valid JSON"));
  }
  SECTION("missing field") {
    ptq::test::write_text(dir.file("winogrande/dev.jsonl"), "{\"sentence\": \"a _ b\", \"option1\": \"x\", \"answer\": \"1\"}\n");
    CHECK_THROWS_WITH(ptq::eval::load_zeroshot_task("winogrande", dir.path()), Contains("line 1: \"option2\" missing"));
  }
  SECTION("missing label file") {
    std::filesystem::remove(dir.file("piqa/valid-labels.lst"));
    CHECK_THROWS_WITH(ptq::eval::load_zeroshot_task("piqa", dir.path()), Contains("valid-labels.lst not found"));
  }
  SECTION("label count mismatch") {
    ptq::test::write_text(dir.file("piqa/valid-labels.lst"), "0\n1\n");
    CHECK_THROWS_WITH(ptq::eval::load_zeroshot_task("piqa", dir.path()), Contains("has 2 labels but"));
  }
  SECTION("bad label value") {
    ptq::test::write_text(dir.file("piqa/valid-labels.lst"), "0\n1\n2\n");
    CHECK_THROWS_WITH(ptq::eval::load_zeroshot_task("piqa", dir.path()), Contains("valid-labels.lst: line 3 is \"2\""));
  }
  SECTION("an answer key that names no choice") {
    ptq::test::write_text(dir.file("arc/ARC-Easy-Test.jsonl"),
                          R"({"question": "q", "choices": {"text": ["a", "b"]}, "answerKey": "D"})" "\n");
    CHECK_THROWS_WITH(ptq::eval::load_zeroshot_task("arc_easy", dir.path()), Contains("line 1: answerKey \"D\""));
  }
  SECTION("the manifest hashes every file read") {
    const auto t = ptq::eval::load_zeroshot_task("piqa", dir.path());
    REQUIRE(t.files.size() == 2);
    CHECK(t.files[0]["sha256"].get<std::string>().size() == 64);
  }
}
