#include "evaluators/zeroshot_average.h"

#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ptq::eval {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

const std::vector<std::string>& paper_average_tasks() {
  static const std::vector<std::string> tasks = {"piqa", "arc_easy", "arc_challenge", "boolq", "hellaswag", "winogrande"};
  return tasks;
}

std::vector<std::string> average_tasks(const std::vector<std::string>& requested, const std::vector<std::string>& evaluated,
                                       const std::string& where) {
  std::vector<std::string> out;
  if (requested.empty()) {
    for (const auto& t : paper_average_tasks())
      if (contains(evaluated, t)) out.push_back(t);
    return out;
  }
  std::vector<std::string> zeroshot;
  for (const auto& t : evaluated)
    if (const EvaluatorInfo* info = evaluators().find(t); info && info->kind == "zero-shot") zeroshot.push_back(t);
  for (const auto& t : requested) {
    if (!contains(zeroshot, t)) {
      const std::string hint = closest_match(t, zeroshot);
      throw InputError(fmt::format("{}: '{}' is not a zero-shot task of this evaluation{} (zero-shot tasks here: {})", where, t,
                                   hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint),
                                   zeroshot.empty() ? "none" : join(zeroshot, ", ")));
    }
    if (contains(out, t)) throw InputError(fmt::format("{}: '{}' is named twice", where, t));
    out.push_back(t);
  }
  return out;
}

std::string describe_average(const std::vector<std::string>& tasks) {
  const auto& paper = paper_average_tasks();
  const bool all_paper = std::all_of(tasks.begin(), tasks.end(), [&](const std::string& t) { return contains(paper, t); });
  if (!all_paper) return "chosen tasks: " + join(tasks, ", ");
  if (tasks.size() == paper.size()) return fmt::format("the papers' {} tasks", paper.size());
  return fmt::format("{} of the papers' {} tasks: {}", tasks.size(), paper.size(), join(tasks, ", "));
}

MetricValue zeroshot_average(const std::vector<TaskResult>& results, const std::vector<std::string>& tasks) {
  double sum = 0;
  for (const auto& name : tasks) {
    const auto it = std::find_if(results.begin(), results.end(),
                                 [&](const TaskResult& r) { return r.task == name && r.reported_fraction; });
    if (it == results.end()) throw InputError(fmt::format("average over '{}': not a zero-shot task of this evaluation", name));
    sum += 100 * *it->reported_fraction;
  }
  return {kZeroShotAverage, tasks.empty() ? NAN : sum / tasks.size(), NAN, static_cast<int64_t>(tasks.size()), true};
}

}  // namespace ptq::eval
