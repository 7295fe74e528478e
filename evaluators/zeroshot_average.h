// The zero-shot average ("Avg." of paper tables, metric zeroshot_avg): ONE definition for `ptqbench eval`
// (table and --json), experiment cells (and so reports' "Avg." column and `regress`).
//
// By default it is the mean of the reported metric (acc or acc_norm, evaluators/zeroshot/tasks.h) over
// the papers' six multiple-choice tasks (OmniQuant / LRQuant / CBQ tables: PIQA, ARC-e, ARC-c, BoolQ,
// HellaSwag, WinoGrande) that were evaluated. LAMBADA is never in the default: the papers report it in a
// column of its own, and a greedy last-word match is not a multiple-choice accuracy. A user may name any
// zero-shot tasks instead (eval --average, an experiment's "evaluators.average").
#pragma once

#include "evaluators/evaluator.h"

#include <string>
#include <vector>

namespace ptq::eval {

// piqa, arc_easy, arc_challenge, boolq, hellaswag, winogrande.
const std::vector<std::string>& paper_average_tasks();

// The tasks an average covers. `requested` empty: the papers' tasks among `evaluated` (in the papers'
// order; possibly none). Otherwise `requested` itself, each a zero-shot task among `evaluated`, else
// InputError "<where>: ..." with a suggestion.
std::vector<std::string> average_tasks(const std::vector<std::string>& requested, const std::vector<std::string>& evaluated,
                                       const std::string& where);

// What an average covers, for people: "the papers' 6 tasks", "3 of the papers' 6 tasks: piqa, arc_easy,
// boolq", or "chosen tasks: piqa, lambada_openai".
std::string describe_average(const std::vector<std::string>& tasks);

// kZeroShotAverage in percent over `tasks` (each must have a reported fraction in `results`; InputError
// otherwise); n = the number of tasks, stderr unknown (NaN).
MetricValue zeroshot_average(const std::vector<TaskResult>& results, const std::vector<std::string>& tasks);

}  // namespace ptq::eval
