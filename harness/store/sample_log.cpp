#include "harness/store/sample_log.h"

#include "evaluators/zeroshot/tasks.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::store {

namespace {

void add(MetricSamples& m, int64_t id, double value) {
  m.ids.push_back(id);
  m.values.push_back(value);
}

}  // namespace

nlohmann::json MetricSamples::to_json() const { return {{"kind", kind}, {"ids", ids}, {"values", values}}; }

MetricSamples MetricSamples::from_json(const nlohmann::json& j, const std::string& where) {
  MetricSamples m;
  try {
    m.kind = j.at("kind").get<std::string>();
    m.ids = j.at("ids").get<std::vector<int64_t>>();
    m.values = j.at("values").get<std::vector<double>>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(fmt::format("{}: expected {{\"kind\", \"ids\": [integers], \"values\": [numbers]}}", where));
  }
  if (m.kind != "binary" && m.kind != "nll")
    throw InputError(fmt::format("{}: kind \"{}\", expected binary or nll", where, m.kind));
  if (m.ids.size() != m.values.size())
    throw InputError(fmt::format("{}: {} ids but {} values, expected as many", where, m.ids.size(), m.values.size()));
  return m;
}

std::map<std::string, MetricSamples> metric_samples_of_task(const std::string& task, const std::string& reported_metric,
                                                            const std::vector<nlohmann::json>& records) {
  std::map<std::string, MetricSamples> out;
  const eval::ZeroShotTaskInfo* info = eval::find_zeroshot_task(task);
  const bool lambada_like = info && info->decision == eval::Decision::kGreedy;  // ppl = exp(-mean ll) too
  const auto field = [&](const nlohmann::json& r, const char* key) -> const nlohmann::json& {
    if (!r.contains(key)) throw InputError(fmt::format("{} sample log: a record has no \"{}\": {}", task, key, bounded_excerpt(r.dump())));
    return r.at(key);
  };
  for (const auto& r : records) {
    if (r.contains("segment")) {  // perplexity
      MetricSamples& m = out[task + "_ppl"];
      m.kind = "nll";
      add(m, field(r, "segment").get<int64_t>(), field(r, "nll").get<double>());
      continue;
    }
    const int64_t doc = field(r, "doc").get<int64_t>();
    const auto binary = [&](const std::string& name, const char* key) {
      MetricSamples& m = out[name];
      m.kind = "binary";
      add(m, doc, field(r, key).get<double>());
    };
    binary(task + "_acc", "acc");
    if (r.contains("acc_norm")) binary(task + "_acc_norm", "acc_norm");
    binary(task, reported_metric == "acc_norm" ? "acc_norm" : "acc");
    if (lambada_like) {
      MetricSamples& m = out[task + "_ppl"];
      m.kind = "nll";
      add(m, doc, -field(r, "ll").at(0).get<double>());
    }
  }
  return out;
}

}  // namespace ptq::store
