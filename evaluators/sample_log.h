// Per-example logs (lm-eval's --log_samples): one gzip'd JSON-lines file per task,
//   zero-shot:  {"doc", "gold", "ll": [per choice], "greedy": [per choice], "pred", "acc", ["pred_norm", "acc_norm"]}
//   perplexity: {"segment", "nll" (mean token NLL of the segment, nats), "tokens"}
// (each evaluator builds its records: Evaluator::evaluate -> TaskResult::samples). A log's SHA-256 (of
// the uncompressed lines) goes into the result, so that a log that does not belong to its result is
// caught when it is read (harness/store/sample_log.h pairs them across runs).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq::eval {

// Writes <dir>/<task>.jsonl.gz atomically; returns {"file": "<task>.jsonl.gz", "sha256", "records"}.
nlohmann::json write_sample_log(const std::string& dir, const std::string& task, const std::vector<nlohmann::json>& records);
// Reads a log; InputError naming the file when it is unreadable or its SHA-256 is not `expected_sha256`.
std::vector<nlohmann::json> read_sample_log(const std::string& path, const std::string& expected_sha256);

}  // namespace ptq::eval
