#include "evaluators/zeroshot/zeroshot.h"

#include "harness/model/llama_model.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "harness/util/py_random.h"

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
    DocOutcome o;
    o.doc = doc_ids[k];
    o.gold = doc.gold;
    for (const auto& x : res) {
      o.ll.push_back(x.ll);
      o.greedy.push_back(x.greedy);
    }
    switch (task.info->decision) {
      case Decision::kArgmax: {
        o.pred = static_cast<int>(argmax_first(o.ll));
        if (task.info->has_acc_norm) {
          std::vector<double> norm(o.ll.size());
          for (size_t i = 0; i < o.ll.size(); ++i) norm[i] = o.ll[i] / static_cast<double>(doc.choices[i].size());
          o.pred_norm = static_cast<int>(argmax_first(norm));
        }
        break;
      }
      case Decision::kBoolqYesNo:
        o.pred = o.ll[0] > o.ll[1] ? 0 : 1;  // gold 0 = "yes"
        break;
      case Decision::kGreedy:
        o.pred = res[0].greedy ? doc.gold : -1;  // the greedy continuation is the gold word, or not
        lls.push_back(res[0].ll);
        break;
    }
    o.correct = o.pred == doc.gold;
    o.correct_norm = o.pred_norm == doc.gold;
    acc.push_back(o.correct ? 1.0 : 0.0);
    if (o.pred_norm >= 0) acc_norm.push_back(o.correct_norm ? 1.0 : 0.0);
    r.docs.push_back(std::move(o));
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
  ScoreOptions so;
  for (size_t i = 0; i < ids.size(); ++i)
    for (const auto& req : task.docs[ids[i]].requests) {
      encoded.push_back(encoder.encode(req));
      so.request_doc.push_back(static_cast<int64_t>(i));
    }
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

nlohmann::json DocOutcome::to_json() const {
  nlohmann::json j = {{"doc", doc}, {"gold", gold}, {"ll", ll}, {"greedy", greedy}, {"pred", pred}, {"acc", correct ? 1 : 0}};
  if (pred_norm >= 0) {
    j["pred_norm"] = pred_norm;
    j["acc_norm"] = correct_norm ? 1 : 0;
  }
  return j;
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
