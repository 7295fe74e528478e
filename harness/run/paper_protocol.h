// A paper's number is a fair target only for a row run as the paper ran it. A record of a paper-number
// file (experiments/papers/*.json) may say how the paper ran it:
//   "protocol": {"calibration_dataset": "wikitext2", "calibration_n": 128, "calibration_seqlen": 2048,
//                "epochs": 20, "config": {"let_lr": 0.001, "alpha": 0.75}, "source": "where this is from"}
// Every key is optional; "config" holds method config values under ptqbench's own keys (the values that
// reproduce the paper's scripts). protocol_warnings checks each cell the report compares with paper
// numbers (paper_row, a paper_model) against the protocol of the record it is compared with for each
// metric the cell measures: the record the report picks (the first of the experiment's paper files that
// has the key; in that file a verified record first, then file order). Calibration keys apply to cells
// that calibrate; "epochs" to a config whose "epochs" is explicit (>= 0: -1, "auto", is the method's
// scripts' schedule, which the method's own tests hold to the paper).
#pragma once

#include "harness/run/cell.h"
#include "harness/run/experiment_spec.h"

#include <string>
#include <vector>

namespace ptq::run {

// One line per (row, model, setting, key) that differs from the paper's protocol, in plan order, e.g.
// `exp.json: row "omniquant" (llama-2-7b W4A4): config.let_lr is 0.0 here but 0.001 in the protocol of
// omniquant.json Table A23, the number the report compares it with`. `plan`, `run` and `slurm` print
// them as warnings. InputError for a malformed "protocol" (naming the file, record and key).
std::vector<std::string> protocol_warnings(const ExperimentSpec& spec, const std::vector<Cell>& cells);

}  // namespace ptq::run
