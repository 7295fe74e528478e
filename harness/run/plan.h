// A plan: the experiment matrix expanded into cells, one JSON object per line (plan.jsonl). A cell holds
// everything a worker needs to run it without the spec: resolved paths, the method's full config (every
// key, defaults filled in), data hashes. Its run id is a hash of the cell's identity (see cell_identity),
// so the same cell planned again, by any machine, gets the same id and finds its finished result.
// A plan made where a model is absent (ModelSpec::deferred) has that model's fingerprint "deferred" and
// provisional run ids ("run_id_provisional": true); resolve_deferred_models, run by `run` before a cell
// starts, gives them the ids a plan made beside the model has.
#pragma once

#include "harness/run/cell.h"
#include "harness/run/experiment_spec.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq::run {

// Order: per model, the FP cell, then methods in spec order x their settings x calibration seeds
// (methods that need no calibration get one cell with seed null).
std::vector<Cell> plan_cells(const ExperimentSpec& spec);

// What defines a cell's result: experiment, model id + content fingerprint, setting, method, label,
// config, calibration (dataset, n, seqlen, seed, data hash), evaluators (task, protocol options, data
// hashes), device type, dtype and the harness version (major.minor.patch). Paths, thread counts and the
// paper-name mappings are left out.
nlohmann::json cell_identity(const Cell& cell);
std::string run_id_of(const Cell& cell);  // 16 hex digits of sha256(canonical identity)

// The cells at `indices` whose model fingerprint is deferred: expands the ${NAME}s left in the model path,
// makes the checks `plan` makes of a present model (directory, config.json, tokenizer.model where the cell
// needs one, the setting fits), fingerprints it (once per model) and sets the final run id. InputError
// "<where>: cell <i> (<label setting model>): ..." when the model is still missing or wrong.
void resolve_deferred_models(std::vector<Cell>& cells, const std::vector<int64_t>& indices, const std::string& where);

void write_plan(const std::string& path, const std::vector<Cell>& cells);  // atomic
// Reads plan.jsonl; InputError naming the file and line for malformed lines or ids that do not match.
std::vector<Cell> read_plan(const std::string& path);

}  // namespace ptq::run
