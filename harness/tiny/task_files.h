// Zero-shot task files about the tiny world, in the original distribution formats the loaders read
// (evaluators/zeroshot): PIQA valid.jsonl + valid-labels.lst, ARC jsonl (Easy: one-hop facts about animals
// and tools; Challenge: facts about people and towns, which the corpus states less often), BoolQ jsonl,
// HellaSwag jsonl, WinoGrande jsonl, LAMBADA jsonl. Every answer follows from facts the corpus states.
#pragma once

#include <cstdint>
#include <string>

namespace ptq::tiny {

// Writes <dir>/piqa, arc, boolq, hellaswag, winogrande, lambada with `n` examples per task.
void write_task_files(const std::string& dir, uint64_t seed, int n);

}  // namespace ptq::tiny
