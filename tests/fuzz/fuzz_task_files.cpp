// The zero-shot task files (lm-eval v0.3's distribution formats, JSON lines): the first byte picks the
// task's reader, the rest is the file. Every document a reader accepts must be well formed: a gold index
// inside its requests, and at least one request.
#include "evaluators/zeroshot/tasks.h"
#include "tests/fuzz/fuzz_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

// PIQA's labels live in a second file: one label per line of the input, alternating 0 and 1, so that the
// line counts agree and the reader gets past that check.
std::string piqa_labels(std::string_view jsonl) {
  std::string labels;
  size_t lines = 0;
  for (const char c : jsonl) lines += c == '\n';
  for (size_t i = 0; i <= lines; ++i) labels += i % 2 ? "1\n" : "0\n";
  return labels;
}

std::vector<ptq::eval::ZeroShotDoc> read_task(uint8_t which, const std::string& path, const std::string& labels) {
  switch (which % 6) {
    case 0: return ptq::eval::load_piqa(path, ptq::fuzz::scratch_file("piqa-labels.lst", labels));
    case 1: return ptq::eval::load_arc(path);
    case 2: return ptq::eval::load_boolq(path);
    case 3: return ptq::eval::load_hellaswag(path);
    case 4: return ptq::eval::load_winogrande(path);
    default: return ptq::eval::load_lambada(path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view jsonl = ptq::fuzz::as_text(data + 1, size - 1);
  const std::string path = ptq::fuzz::scratch_file("task.jsonl", jsonl);
  const std::string labels = piqa_labels(jsonl);
  std::vector<ptq::eval::ZeroShotDoc> docs;
  if (!ptq::fuzz::accepts([&] { docs = read_task(data[0], path, labels); })) return 0;
  for (const auto& d : docs)
    if (d.requests.empty() || d.gold < 0 || d.gold >= static_cast<int>(std::max<size_t>(d.requests.size(), 2))) {
      std::fprintf(stderr, "fuzz_task_files: a document with gold %d and %zu requests\n", d.gold, d.requests.size());
      std::abort();
    }
  return 0;
}
