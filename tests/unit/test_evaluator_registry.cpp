// The evaluator registry: every task is registered once, each metric declares its direction (reports
// and `regress` read it instead of guessing from a name), unknown names get one clear error.
#include "evaluators/evaluator.h"
#include "harness/util/errors.h"

#include <catch2/catch.hpp>

#include <set>

using Catch::Matchers::Contains;

TEST_CASE("every task is registered once with its metrics and their direction", "[unit][evaluators]") {
  const auto& r = ptq::eval::evaluators();
  const std::vector<std::string> names = r.names();
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  for (const char* t : {"wikitext2", "c4", "c4_new", "text", "tokens", "piqa", "arc_easy", "arc_challenge", "boolq",
                        "hellaswag", "winogrande", "lambada_openai"})
    CHECK(r.find(t) != nullptr);
  CHECK(r.get("wikitext2").kind == "perplexity");
  CHECK(r.get("piqa").kind == "zero-shot");
  CHECK(r.get("piqa").reads_directory);
  CHECK_FALSE(r.get("tokens").needs_tokenizer);

  CHECK_FALSE(r.higher_is_better("wikitext2_ppl"));
  CHECK_FALSE(r.higher_is_better("c4_ppl"));
  CHECK_FALSE(r.higher_is_better("lambada_openai_ppl"));  // a zero-shot task's perplexity
  CHECK(r.higher_is_better("lambada_openai"));
  CHECK(r.higher_is_better("piqa"));
  CHECK(r.higher_is_better("piqa_acc_norm"));
  CHECK(r.higher_is_better("arc_challenge_acc"));
  CHECK(r.higher_is_better("zeroshot_avg"));
  CHECK_THROWS_WITH(r.higher_is_better("boolq_acc_norm"), Contains("metric 'boolq_acc_norm' is produced by no registered task"));
  CHECK_THROWS_WITH(r.higher_is_better("perplexity"), Contains("no registered task"));
}

TEST_CASE("an unknown task names the closest one and lists them all", "[unit][evaluators]") {
  CHECK_THROWS_AS(ptq::eval::evaluators().get("wikitxt2"), ptq::InputError);
  CHECK_THROWS_WITH(ptq::eval::evaluators().get("wikitxt2"),
                    Contains("unknown task 'wikitxt2', did you mean 'wikitext2'?") && Contains("lambada_openai"));
}
