// The one definition of the zero-shot average (evaluators/zeroshot_average.h): which tasks it covers by
// default, how it is described, and its value from hand-made task results.
#include "evaluators/zeroshot_average.h"
#include "harness/util/errors.h"

#include <catch2/catch.hpp>

#include <cmath>

using Catch::Matchers::Contains;
using ptq::eval::average_tasks;
using ptq::eval::describe_average;

TEST_CASE("the default average is the papers' six tasks that were evaluated, never LAMBADA", "[unit][average]") {
  CHECK(ptq::eval::paper_average_tasks() ==
        std::vector<std::string>{"piqa", "arc_easy", "arc_challenge", "boolq", "hellaswag", "winogrande"});
  // In the papers' order whatever the evaluation order; perplexity tasks and LAMBADA left out.
  CHECK(average_tasks({}, {"lambada_openai", "boolq", "wikitext2", "piqa"}, "x") == std::vector<std::string>{"piqa", "boolq"});
  CHECK(average_tasks({}, {"lambada_openai", "wikitext2"}, "x").empty());
  CHECK(describe_average({"piqa", "boolq"}) == "2 of the papers' 6 tasks: piqa, boolq");
  CHECK(describe_average(ptq::eval::paper_average_tasks()) == "the papers' 6 tasks");
  CHECK(describe_average({"piqa", "lambada_openai"}) == "chosen tasks: piqa, lambada_openai");
}

TEST_CASE("a chosen average names zero-shot tasks of the evaluation", "[unit][average]") {
  CHECK(average_tasks({"lambada_openai", "piqa"}, {"piqa", "lambada_openai"}, "x") ==
        std::vector<std::string>{"lambada_openai", "piqa"});
  CHECK_THROWS_WITH(average_tasks({"boolk"}, {"piqa", "boolq"}, "spec.json: evaluators.average"),
                    Contains("spec.json: evaluators.average: 'boolk' is not a zero-shot task of this evaluation, did you mean 'boolq'?"));
  CHECK_THROWS_AS(average_tasks({"wikitext2"}, {"wikitext2", "piqa"}, "x"), ptq::InputError);
  CHECK_THROWS_WITH(average_tasks({"piqa", "piqa"}, {"piqa"}, "x"), Contains("named twice"));
}

TEST_CASE("the average's value is the mean of the reported fractions, in percent", "[unit][average]") {
  std::vector<ptq::eval::TaskResult> results(4);
  results[0].task = "piqa";
  results[0].reported_fraction = 0.75;
  results[1].task = "boolq";
  results[1].reported_fraction = 0.5;
  results[2].task = "lambada_openai";
  results[2].reported_fraction = 0.0;
  results[3].task = "wikitext2";  // perplexity: no fraction
  const auto m = ptq::eval::zeroshot_average(results, {"piqa", "boolq"});
  CHECK(m.name == "zeroshot_avg");
  CHECK(m.value == Approx(62.5));  // (75 + 50) / 2
  CHECK(m.n == 2);
  CHECK(std::isnan(m.stderr_value));
  CHECK(ptq::eval::zeroshot_average(results, {"piqa", "boolq", "lambada_openai"}).value == Approx(125.0 / 3));
  CHECK_THROWS_AS(ptq::eval::zeroshot_average(results, {"wikitext2"}), ptq::InputError);
}
