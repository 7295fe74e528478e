// Zero-shot task files about the tiny world, in the original distribution formats the loaders read
// (evaluators/zeroshot): PIQA valid.jsonl + valid-labels.lst, ARC jsonl, BoolQ jsonl, HellaSwag jsonl,
// WinoGrande jsonl, LAMBADA jsonl. Every answer follows from facts the corpus states; entities are drawn
// with the corpus's Zipf frequencies, so a question about a rare person is as rare as the person, and the
// tasks measure stored knowledge (what quantization erodes) rather than a handful of memorised pairs:
//   PIQA        which tool achieves a goal / which town to go to to find a person (2 choices)
//   ARC-Easy    animals' habitats and food, tools' materials (4 choices)
//   ARC-Chall.  people's towns, tools and jobs; towns' products, rivers and regions (4 choices)
//   BoolQ       a passage about a person, then a yes/no question about where they live
//   HellaSwag   "<person> works with a" -> which tool (4 endings)
//   WinoGrande  which of two animals goes to its habitat / which of two people lives in a town
//   LAMBADA     the person a paragraph is about, named only at its start
#pragma once

#include "harness/tiny/world.h"

#include <cstdint>
#include <string>

namespace ptq::tiny {

// Writes <dir>/piqa, arc, boolq, hellaswag, winogrande, lambada with `n` examples per task.
void write_task_files(const World& world, const std::string& dir, uint64_t seed, int n);

}  // namespace ptq::tiny
