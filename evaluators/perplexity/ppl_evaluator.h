// The perplexity tasks as Evaluators (evaluators/evaluator.h): a task's token stream is read when the
// evaluator is made (data/ppl_tasks.h), scored with the GPTQ/OmniQuant protocol (perplexity.h) when it
// evaluates. Metric: "<task>_ppl", lower is better.
#pragma once

#include "evaluators/evaluator.h"

namespace ptq::eval {

// One registry entry per perplexity task of data/ppl_tasks.h.
std::vector<EvaluatorInfo> perplexity_evaluators();

}  // namespace ptq::eval
