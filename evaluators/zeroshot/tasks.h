// Zero-shot tasks with lm-evaluation-harness v0.3.0 semantics (research/eval_protocols.md §2-3), read from
// the original distribution files. Each document becomes the requests lm-eval builds for it:
//
//   piqa           ctx "Question: {goal}\nAnswer:"               conts " {sol1}", " {sol2}"; gold = label
//   arc_easy/      ctx "Question: {question}\nAnswer:"           conts " {choice}" for each choice; gold = index
//   arc_challenge                                                of answerKey (answer keys "1".."5" -> "A".."E")
//   boolq          ctx "{passage}\nQuestion: {question}?\nAnswer:" conts " yes", " no"; correct iff
//                                                                (ll_yes > ll_no) == label
//   hellaswag      ctx preprocess("{activity_label}: {ctx_a} {ctx_b.capitalize()}")
//                  conts " " + preprocess(ending) for 4 endings; preprocess = strip, " [title]" -> ". ",
//                  remove "[...]" spans, "  " -> " " (one pass)
//   winogrande     partial evaluation: ctx = sentence[:blank] + option (one per option), shared cont
//                  " " + sentence[blank + 1:].strip(); gold = answer - 1
//   lambada_openai ctx = text.rsplit(" ", 1)[0], cont " " + last word; acc = greedy match, ppl = exp(-mean ll)
//
// acc = argmax(ll) == gold; acc_norm = argmax(ll / len(choice text without its leading space)) == gold.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq::eval {

struct LoglikRequest {
  std::string context, continuation;
};

enum class Decision {
  kArgmax,      // multiple choice: argmax of log-likelihoods (first maximum on ties, as numpy)
  kBoolqYesNo,  // (ll_yes > ll_no) == label
  kGreedy,      // lambada: the continuation is the greedy completion
};

struct ZeroShotDoc {
  std::vector<LoglikRequest> requests;
  std::vector<std::string> choices;  // texts whose character lengths normalise acc_norm
  int gold = 0;
};

struct ZeroShotTaskInfo {
  std::string name;
  std::string description;
  Decision decision;
  bool has_acc_norm;
  std::string reported_metric;  // the metric paper tables use for this task (research/eval_protocols.md §2.4)
  std::vector<std::string> files;  // canonical file names, looked up in <data-dir>/<subdir>/ and <data-dir>/
  std::string subdir;
};

const std::vector<ZeroShotTaskInfo>& zeroshot_tasks();
const ZeroShotTaskInfo* find_zeroshot_task(const std::string& name);  // nullptr when unknown

struct LoadedTask {
  const ZeroShotTaskInfo* info = nullptr;
  std::vector<ZeroShotDoc> docs;
  nlohmann::json files;  // [{"path", "sha256"}]: the manifest of what was read
};

// The files the task reads from data_dir (<data_dir>/<subdir>/<file>, else <data_dir>/<file>), in the
// order of ZeroShotTaskInfo::files. InputError naming what is missing.
std::vector<std::string> resolve_zeroshot_files(const std::string& name, const std::string& data_dir);

// Reads the task's files from data_dir. Throws InputError naming the file and line for malformed input.
LoadedTask load_zeroshot_task(const std::string& name, const std::string& data_dir);

// The individual loaders (exposed for tests); `path` is the data file (PIQA: valid.jsonl).
std::vector<ZeroShotDoc> load_piqa(const std::string& jsonl, const std::string& labels);
std::vector<ZeroShotDoc> load_arc(const std::string& jsonl);
std::vector<ZeroShotDoc> load_boolq(const std::string& jsonl);
std::vector<ZeroShotDoc> load_hellaswag(const std::string& jsonl);
std::vector<ZeroShotDoc> load_winogrande(const std::string& jsonl);
std::vector<ZeroShotDoc> load_lambada(const std::string& jsonl);
std::string hellaswag_preprocess(const std::string& text);

}  // namespace ptq::eval
