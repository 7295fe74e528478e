// The zero-shot tasks as Evaluators (evaluators/evaluator.h): documents read when the evaluator is
// made (tasks.h), scored with lm-eval's semantics (zeroshot.h) when it evaluates. Metrics, in percent:
// "<task>" (the metric paper tables report), "<task>_acc", "<task>_acc_norm" where the task has it,
// and LAMBADA's "<task>_ppl" (lower is better).
#pragma once

#include "evaluators/evaluator.h"

namespace ptq::eval {

// One registry entry per zero-shot task of tasks.h.
std::vector<EvaluatorInfo> zeroshot_evaluators();

}  // namespace ptq::eval
