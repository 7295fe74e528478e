#include "zeroshot/zeroshot.h"

#include "model/llama_model.h"
#include "model/tokenizer.h"
#include "run/py_random.h"
#include "util/errors.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

namespace ptq::eval {

namespace {

// lm-eval's mean and mean_stderr: sample standard deviation (n - 1) / sqrt(n).
Metric mean_with_stderr(const std::vector<double>& v) {
  Metric m;
  const auto n = static_cast<double>(v.size());
  m.value = std::accumulate(v.begin(), v.end(), 0.0) / n;
  if (v.size() < 2) {
    m.stderr_value = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  double ss = 0;
  for (const double x : v) ss += (x - m.value) * (x - m.value);
  m.stderr_value = std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return m;
}

size_t argmax_first(const std::vector<double>& v) {  // numpy.argmax: the first maximum
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

nlohmann::json metric_json(const Metric& m) {
  return {{"value", m.value},
          {"stderr", std::isfinite(m.stderr_value) ? nlohmann::json(m.stderr_value) : nlohmann::json(nullptr)}};
}

}  // namespace

std::vector<size_t> select_docs(size_t n_docs, int64_t limit, LmEvalMode mode) {
  std::vector<size_t> ids(n_docs);
  std::iota(ids.begin(), ids.end(), 0);
  if (limit <= 0 || static_cast<size_t>(limit) >= n_docs) return ids;
  if (mode == LmEvalMode::kV03) {
    PyRandom rng(42);  // evaluator.py: rnd = random.Random(); rnd.seed(42); rnd.shuffle(task_docs)
    rng.shuffle(ids);
  }
  ids.resize(static_cast<size_t>(limit));
  return ids;
}

ZeroShotResult compute_metrics(const LoadedTask& task, const std::vector<size_t>& doc_ids,
                               const std::vector<std::vector<LoglikResult>>& results, const std::string& reported_metric) {
  ZeroShotResult r;
  r.task = task.info->name;
  r.n = static_cast<int64_t>(doc_ids.size());
  r.n_total = static_cast<int64_t>(task.docs.size());
  r.files = task.files;
  r.reported_metric = reported_metric.empty() ? task.info->reported_metric : reported_metric;
  if (r.reported_metric != "acc" && !(r.reported_metric == "acc_norm" && task.info->has_acc_norm))
    throw InputError(fmt::format("task {} has no metric '{}' to report (expected acc{})", r.task, r.reported_metric,
                                 task.info->has_acc_norm ? " or acc_norm" : ""));
  std::vector<double> acc, acc_norm, lls;
  for (size_t k = 0; k < doc_ids.size(); ++k) {
    const ZeroShotDoc& doc = task.docs[doc_ids[k]];
    const auto& res = results[k];
    r.requests += static_cast<int64_t>(res.size());
    std::vector<double> ll;
    for (const auto& x : res) ll.push_back(x.ll);
    switch (task.info->decision) {
      case Decision::kArgmax: {
        acc.push_back(static_cast<int>(argmax_first(ll)) == doc.gold ? 1.0 : 0.0);
        if (task.info->has_acc_norm) {
          std::vector<double> norm(ll.size());
          for (size_t i = 0; i < ll.size(); ++i) norm[i] = ll[i] / static_cast<double>(doc.choices[i].size());
          acc_norm.push_back(static_cast<int>(argmax_first(norm)) == doc.gold ? 1.0 : 0.0);
        }
        break;
      }
      case Decision::kBoolqYesNo:
        acc.push_back(((ll[0] > ll[1]) == (doc.gold == 0)) ? 1.0 : 0.0);
        break;
      case Decision::kGreedy:
        acc.push_back(res[0].greedy ? 1.0 : 0.0);
        lls.push_back(res[0].ll);
        break;
    }
  }
  r.acc = mean_with_stderr(acc);
  if (!acc_norm.empty()) r.acc_norm = mean_with_stderr(acc_norm);
  if (!lls.empty()) {
    // perplexity = exp(-mean ll); its stderr by the delta method (lm-eval bootstraps it).
    const Metric mean_ll = mean_with_stderr(lls);
    r.ppl = Metric{std::exp(-mean_ll.value), std::exp(-mean_ll.value) * mean_ll.stderr_value};
  }
  r.reported_value = r.reported_metric == "acc_norm" && r.acc_norm ? r.acc_norm->value : r.acc.value;
  return r;
}

ZeroShotResult evaluate_zeroshot(const LlamaModel& model, const Tokenizer& tok, const LoadedTask& task,
                                 const ZeroShotOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<size_t> ids = select_docs(task.docs.size(), opt.limit, opt.mode);
  std::vector<EncodedRequest> encoded;
  RequestEncoder encoder(tok, opt.mode);
  for (const size_t id : ids)
    for (const auto& req : task.docs[id].requests) encoded.push_back(encoder.encode(req));
  ScoreOptions so;
  so.batch_size = opt.batch_size;
  so.progress = opt.progress;
  so.label = task.info->name;
  const auto flat = score_loglikelihood(model, encoded, so);
  std::vector<std::vector<LoglikResult>> per_doc;
  size_t k = 0;
  for (const size_t id : ids) {
    const size_t n = task.docs[id].requests.size();
    per_doc.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(k), flat.begin() + static_cast<std::ptrdiff_t>(k + n));
    k += n;
  }
  ZeroShotResult r = compute_metrics(task, ids, per_doc, opt.reported_metric);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

nlohmann::json ZeroShotResult::to_json() const {
  nlohmann::json j = {{"n", n},         {"n_total", n_total},   {"requests", requests},
                      {"acc", metric_json(acc)}, {"reported_metric", reported_metric}, {"reported_value", reported_value},
                      {"seconds", seconds}, {"examples_per_s", seconds > 0 ? n / seconds : 0.0}, {"files", files}};
  j["acc_norm"] = acc_norm ? metric_json(*acc_norm) : nlohmann::json(nullptr);
  if (ppl) j["ppl"] = metric_json(*ppl);
  return j;
}

}  // namespace ptq::eval
