#include "harness/data/calibration.h"

#include "harness/data/c4_windows.h"
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/io/sha256.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "harness/util/py_random.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace ptq::eval {

const std::vector<std::string>& calibration_datasets() {
  static const std::vector<std::string> names = {"wikitext2", "c4", "text", "jsonl"};
  return names;
}

std::string resolve_calibration_file(const std::string& dataset, const std::string& data_path) {
  if (dataset == "wikitext2") return resolve_data_file(data_path, {"wiki.train.raw"}, "WikiText-2 train file");
  if (dataset == "c4")
    return resolve_data_file(data_path, {"c4-train.00000-of-01024.json.gz", "c4-train.00000-of-01024.json"},
                             "C4 train shard");
  if (dataset == "text") {
    io::require_file(data_path, "calibration text file");
    return data_path;
  }
  if (dataset == "jsonl") return parse_jsonl_source(data_path).path;
  const std::string hint = closest_match(dataset, calibration_datasets());
  throw InputError(fmt::format("unknown calibration dataset '{}'{} (expected one of: {})", dataset,
                               hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint),
                               join(calibration_datasets(), ", ")));
}

std::vector<int64_t> sample_stream_starts(int64_t stream_len, int64_t n, int64_t seqlen, int64_t seed) {
  if (stream_len - seqlen - 1 < 0)
    throw InputError(fmt::format("calibration stream has {} tokens, too few for windows of {}", stream_len, seqlen));
  PyRandom rng(seed);
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < n; ++i) starts.push_back(rng.randint(0, stream_len - seqlen - 1));
  return starts;
}

namespace {

// The wikitext2 rule (get_wikitext2) over one file: its token stream (tokenized once as tokenizer(text),
// WikiText rows joined first when `wikitext_rows`; cached under `cache_task`), then random windows of it.
void fill_stream_windows(const std::string& file, const char* cache_task, bool wikitext_rows, const Tokenizer& tok,
                         const TokenCache& cache, int64_t seed, CalibrationSet* out) {
  const int64_t n = out->windows.size(0), seqlen = out->windows.size(1);
  const std::string data_sha = io::sha256_file(file);
  const nlohmann::json key = {{"task", cache_task}, {"data_sha256", data_sha}, {"tokenizer_sha256", tok.sha256()}};
  const at::Tensor stream = cache.get_or_compute(key, [&] {
    const std::string text = read_text_file(file);
    const auto ids = tok.encode_input(wikitext_rows ? wikitext_join(text) : text);
    return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
  });
  out->starts = sample_stream_starts(stream.numel(), n, seqlen, seed);
  for (int64_t i = 0; i < n; ++i) out->windows[i].copy_(stream.narrow(0, out->starts[i], seqlen));
  out->provenance = {{"data_file", file}, {"data_sha256", data_sha}};
}

// The c4 rule (GPTQ's get_c4) over any documents: out->windows' rows, with their documents and offsets.
void fill_doc_windows(const std::vector<std::string>& docs, const Tokenizer& tok, int64_t seed, CalibrationSet* out) {
  const int64_t n = out->windows.size(0), seqlen = out->windows.size(1);
  const auto windows = sample_doc_windows(docs, [&](const std::string& t) { return tok.encode_input(t); }, n, seqlen, seed);
  int64_t* dst = out->windows.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    out->starts.push_back(windows[i].start);
    out->docs.push_back(windows[i].doc);
    std::copy(windows[i].ids.begin(), windows[i].ids.end(), dst + i * seqlen);
  }
}

}  // namespace

CalibrationSet sample_calibration(const std::string& dataset, const std::string& data_path, const Tokenizer& tok,
                                  int64_t n, int64_t seqlen, int64_t seed, const TokenCache& cache) {
  if (n < 1 || seqlen < 2)
    throw InputError(fmt::format("calibration needs n >= 1 and seqlen >= 2 (got n={}, seqlen={})", n, seqlen));
  CalibrationSet out;
  out.dataset = dataset;
  out.seed = seed;
  out.windows = at::empty({n, seqlen}, at::kLong);
  if (dataset == "wikitext2") {
    fill_stream_windows(resolve_calibration_file(dataset, data_path), "wikitext2_train", /*wikitext_rows=*/true, tok,
                        cache, seed, &out);
  } else if (dataset == "c4") {
    const std::string file = resolve_calibration_file(dataset, data_path);
    fill_doc_windows(read_c4_texts(file), tok, seed, &out);
    out.provenance = {{"data_file", file}, {"data_sha256", io::sha256_file(file)}};
  } else if (dataset == "text") {  // the whole file, tokenized once, then the wikitext2 rule
    fill_stream_windows(resolve_calibration_file(dataset, data_path), "calibration_text", /*wikitext_rows=*/false, tok,
                        cache, seed, &out);
  } else if (dataset == "jsonl") {  // documents of one field, then the c4 rule (a random window of a long enough document)
    const JsonlSource source = parse_jsonl_source(data_path);
    fill_doc_windows(read_jsonl_texts(source), tok, seed, &out);
    out.provenance = {{"data_file", source.path}, {"field", source.field}, {"data_sha256", io::sha256_file(source.path)}};
  } else {
    resolve_calibration_file(dataset, data_path);  // throws: unknown dataset
  }
  out.provenance["tokenizer_input"] = tok.added_tokens_description();
  const at::Tensor w = out.windows.to(at::kInt).contiguous();
  out.provenance["tokenizer_sha256"] = tok.sha256();
  out.provenance["windows_sha256"] =
      io::sha256_hex(std::string_view(static_cast<const char*>(w.data_ptr()), w.numel() * sizeof(int32_t)));
  return out;
}

}  // namespace ptq::eval
