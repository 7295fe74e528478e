#include "harness/report/baseline_file.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/io/sha256.h"
#include "harness/report/regress.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "harness/util/json_text.h"
#include "harness/util/runtime.h"
#include "harness/util/strict_json.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::report {

namespace {

// NAME.json -> NAME.samples.json.gz (the file name only: it lives beside the baseline).
std::string samples_file_name(const std::string& baseline_path) {
  std::string stem = fs::path(baseline_path).filename().string();
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".json") == 0) stem.resize(stem.size() - 5);
  return stem + ".samples.json.gz";
}

void check_metrics(const nlohmann::json& metrics, const std::string& path) {
  if (!metrics.is_array())
    throw InputError(fmt::format("{}: \"metrics\" must be an array of {{model, setting, method, metric, value}}", path));
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    for (const char* k : {"model", "setting", "method", "metric"})
      if (!m.contains(k) || !m[k].is_string()) throw InputError(fmt::format("{}: metrics[{}].{}: expected a string", path, i, k));
    if (!m.contains("value") || !m["value"].is_number())
      throw InputError(fmt::format("{}: metrics[{}].value: expected a number", path, i));
    if (m.contains("stderr") && !m["stderr"].is_number() && !m["stderr"].is_null())
      throw InputError(fmt::format("{}: metrics[{}].stderr: expected a number or null", path, i));
    if (m.contains("of") && (!m["of"].is_array() || !std::all_of(m["of"].begin(), m["of"].end(), [](const auto& x) { return x.is_string(); })))
      throw InputError(fmt::format("{}: metrics[{}].of: expected an array of metric names", path, i));
  }
}

void read_samples_file(Baseline& b, const nlohmann::json& ref) {
  if (!ref.is_object() || !ref.contains("file") || !ref["file"].is_string() || !ref.contains("sha256") || !ref["sha256"].is_string())
    throw InputError(fmt::format("{}: \"samples\" must be {{\"file\", \"sha256\"}}", b.path));
  b.samples_file = (fs::path(b.path).parent_path() / ref["file"].get<std::string>()).string();
  const std::string text = io::read_file(b.samples_file);  // InputError naming it when missing
  if (io::sha256_hex(text) != ref["sha256"].get<std::string>())
    throw InputError(fmt::format("{}: SHA-256 {} does not match the {} that {} records (regenerate both with "
                                 "`ptqbench regress --update`)",
                                 b.samples_file, io::sha256_hex(text), ref["sha256"].get<std::string>(), b.path));
  const auto doc = parse_json_text(text, b.samples_file);  // depth-bounded: it is a file users pass around
  if (!doc.is_object() || !doc.contains("metrics") || !doc["metrics"].is_array())
    throw InputError(fmt::format("{}: expected {{\"metrics\": [...]}}", b.samples_file));
  for (size_t i = 0; i < doc["metrics"].size(); ++i) {
    const auto& m = doc["metrics"][i];
    const std::string where = fmt::format("{}: metrics[{}]", b.samples_file, i);
    for (const char* k : {"model", "setting", "method", "metric"})
      if (!m.contains(k) || !m[k].is_string()) throw InputError(fmt::format("{}.{}: expected a string", where, k));
    b.samples[metric_key(m)] = store::MetricSamples::from_json(m, where);
  }
}

}  // namespace

std::string metric_key(const nlohmann::json& m) {
  return fmt::format("{}|{}|{}|{}", m.at("model").get<std::string>(), m.at("setting").get<std::string>(),
                     m.at("method").get<std::string>(), m.at("metric").get<std::string>());
}

Baseline read_baseline(const std::string& path) {
  const nlohmann::json doc = io::read_json_file(path);
  Baseline b;
  b.path = path;
  int format = 1;
  StrictJsonReader r(doc, path);
  r.read("format", format);
  r.read("experiment", b.experiment);
  for (const char* k : {"tolerance", "metrics", "created", "harness_version", "note", "numerics", "samples"}) r.known(k);
  r.finish();
  if (format != 1 && format != 2) throw InputError(fmt::format("{}: format {}, expected 1 or 2", path, format));
  if (b.experiment.empty()) throw InputError(fmt::format("{}: missing \"experiment\"", path));
  check_metrics(doc.contains("metrics") ? doc["metrics"] : nlohmann::json(), path);
  b.metrics = doc["metrics"];
  if (doc.contains("tolerance")) {
    Tolerance t;
    StrictJsonReader tr(doc["tolerance"], path + ": tolerance");
    tr.read("ppl", t.ppl_rel);
    tr.read("acc", t.acc_abs);
    tr.finish();
    b.tolerance = t;
  }
  if (doc.contains("numerics")) {
    if (!doc["numerics"].is_array()) throw InputError(fmt::format("{}: \"numerics\": expected an array of strings", path));
    for (const auto& n : doc["numerics"]) {
      if (!n.is_string()) throw InputError(fmt::format("{}: \"numerics\": expected an array of strings", path));
      b.numerics.push_back(n.get<std::string>());
    }
  }
  if (doc.contains("samples") && !doc["samples"].is_null()) read_samples_file(b, doc["samples"]);
  return b;
}

nlohmann::json write_baseline(store::ResultsDb& db, const std::string& experiment, const Tolerance& tol,
                              const std::string& path) {
  std::map<std::string, store::MetricSamples> samples;
  std::vector<std::string> numerics;
  const nlohmann::json metrics = current_metrics(db, experiment, &samples, &numerics);
  if (metrics.empty()) throw InputError(fmt::format("no finished runs of experiment '{}' in {}", experiment, db.path()));
  nlohmann::json sample_doc = {{"format", 1}, {"experiment", experiment}, {"metrics", nlohmann::json::array()}};
  for (const auto& m : metrics) {
    const auto it = samples.find(metric_key(m));
    if (it == samples.end()) continue;
    nlohmann::json s = it->second.to_json();
    for (const char* k : {"model", "setting", "method", "metric"}) s[k] = m[k];
    sample_doc["metrics"].push_back(s);
  }
  nlohmann::json doc = {{"format", 2},
                        {"experiment", experiment},
                        {"harness_version", harness_version()},
                        {"note", "written by `ptqbench regress --update`; compare with `ptqbench regress --baseline <this file>`"},
                        {"tolerance", {{"ppl", tol.ppl_rel}, {"acc", tol.acc_abs}}},
                        {"numerics", numerics},
                        {"metrics", metrics}};
  if (!sample_doc["metrics"].empty()) {
    const std::string text = sample_doc.dump() + "\n";
    const std::string file = samples_file_name(path);
    io::write_file_atomic((fs::path(path).parent_path() / file).string(), io::gzip_compress(text));
    doc["samples"] = {{"file", file}, {"sha256", io::sha256_hex(text)}};
  }
  io::write_file_atomic(path, doc.dump(2) + "\n");
  return doc;
}

}  // namespace ptq::report
