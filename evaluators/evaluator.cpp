#include "evaluators/evaluator.h"

#include "evaluators/perplexity/ppl_evaluator.h"
#include "evaluators/zeroshot/zeroshot_evaluator.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace ptq::eval {

namespace {

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

EvaluatorRegistry make_registry() {
  EvaluatorRegistry r;
  for (auto& info : perplexity_evaluators()) r.add(std::move(info));
  for (auto& info : zeroshot_evaluators()) r.add(std::move(info));
  return r;
}

}  // namespace

nlohmann::json MetricValue::to_json() const {
  return {{"name", name}, {"value", finite_or_null(value)}, {"stderr", finite_or_null(stderr_value)}, {"n", n},
          {"higher_is_better", higher_is_better}};
}

void EvaluatorRegistry::add(EvaluatorInfo info) {
  if (find(info.name)) throw std::logic_error("evaluator registered twice: " + info.name);
  infos_.push_back(std::move(info));
}

const EvaluatorInfo* EvaluatorRegistry::find(const std::string& name) const {
  for (const auto& info : infos_)
    if (info.name == name) return &info;
  return nullptr;
}

const EvaluatorInfo& EvaluatorRegistry::get(const std::string& name) const {
  if (const EvaluatorInfo* info = find(name)) return *info;
  const std::vector<std::string> known = names();
  const std::string hint = closest_match(name, known);
  throw InputError(fmt::format("unknown task '{}'{} (expected one of: {})", name,
                               hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint), join(known, ", ")));
}

std::vector<std::string> EvaluatorRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& info : infos_) out.push_back(info.name);
  return out;
}

bool EvaluatorRegistry::higher_is_better(const std::string& metric) const {
  if (metric == kZeroShotAverage) return true;
  for (const auto& info : infos_)
    for (const auto& m : info.metrics)
      if (m.name == metric) return m.higher_is_better;
  throw InputError(fmt::format("metric '{}' is produced by no registered task (ptqbench ls evaluators; a plugin's "
                               "task needs its plugin loaded: ptqbench --plugin PATH.so ...)", metric));
}

namespace {

EvaluatorRegistry& the_registry() {
  static EvaluatorRegistry registry = make_registry();
  return registry;
}

}  // namespace

void register_evaluator(EvaluatorInfo info) { the_registry().add(std::move(info)); }

const EvaluatorRegistry& evaluators() { return the_registry(); }

}  // namespace ptq::eval
