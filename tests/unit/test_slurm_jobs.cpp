// `ptqbench slurm`'s job scripts, checked as text: array ranges, resource groups from the spec's
// per-model "slurm" objects, time formats, quoting, and the preemption plumbing of the batch script.
// (The real cluster run is tests/slurm.)
#include "harness/run/experiment_spec.h"
#include "harness/run/plan.h"
#include "harness/run/slurm_jobs.h"
#include "harness/util/errors.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;

using ptq::test::tiny_model;

namespace {


// Two models of the same checkpoint: "small" with the command's defaults, "big" asking for 4 GPUs.
nlohmann::json two_model_spec(const nlohmann::json& big_slurm) {
  return {{"name", "grid"},
          {"models", {{{"id", "small"}, {"path", tiny_model()}}, {{"id", "big"}, {"path", tiny_model()}, {"slurm", big_slurm}}}},
          {"methods", {{{"name", "rtn"}, {"settings", {"W4A16", "W8A8"}}}}},
          {"evaluators", {{"data_dir", ptq::test::source_dir() + "/experiments/data/tiny"}, {"tasks", {"wikitext2"}}}},
          {"runtime", {{"device", "cpu"}}}};
}

ptq::run::SlurmPaths paths() {
  ptq::run::SlurmPaths p;
  p.exe = "/opt/ptq bench/ptqbench";  // a space: must be quoted
  p.workdir = "/home/me";
  p.plan = "/r/slurm/grid/plan_x.jsonl";
  p.results = "/r";
  p.db = "/r/ptqbench.db";
  p.job_dir = "/r/slurm/grid";
  p.cache_args = {"--no-cache"};
  p.papers = {"/e/papers/omniquant.json"};
  return p;
}

}  // namespace

TEST_CASE("array index ranges, Slurm time formats and shell quoting", "[unit][slurm]") {
  using ptq::run::index_ranges;
  using ptq::run::slurm_time_seconds;
  CHECK(index_ranges({0, 1, 2, 3, 7, 9, 10}) == "0-3,7,9-10");
  CHECK(index_ranges({5, 3, 4, 4}) == "3-5");
  CHECK(index_ranges({8}) == "8");
  CHECK(slurm_time_seconds("90") == 90 * 60);              // minutes
  CHECK(slurm_time_seconds("10:30") == 10 * 60 + 30);      // M:S
  CHECK(slurm_time_seconds("08:00:00") == 8 * 3600);       // H:M:S
  CHECK(slurm_time_seconds("1-00:00:00") == 24 * 3600);    // D-H:M:S
  CHECK(slurm_time_seconds("2-12") == 60 * 3600);          // D-H
  CHECK(slurm_time_seconds("1-2:30") == (26 * 60 + 30) * 60);  // D-H:M
  CHECK_THROWS_WITH(slurm_time_seconds("8h"), Contains("--time 8h: expected minutes"));
  CHECK_THROWS_AS(slurm_time_seconds("1:2:3:4"), ptq::InputError);
  CHECK_THROWS_AS(slurm_time_seconds("-5"), ptq::InputError);
  CHECK(ptq::run::shell_quote("/a/b-c_d.json") == "/a/b-c_d.json");
  CHECK(ptq::run::shell_quote("it's here") == "'it'\\''s here'");
}

TEST_CASE("cells are grouped into one array per resource request, the scripts carry it", "[unit][slurm]") {
  const auto spec = ptq::run::parse_experiment_spec(two_model_spec({{"gpus", 4}, {"mem", "320G"}, {"time", "2-00:00:00"}}),
                                                    "grid.json", "/");
  REQUIRE(spec.models[1].slurm.gpus == 4);
  const auto cells = ptq::run::plan_cells(spec);
  REQUIRE(cells.size() == 6);  // per model: fp, rtn W4A16, rtn W8A8
  // The resources are not part of the identity: "big"'s cells get the ids they would get without them.
  const auto plain = ptq::run::plan_cells(ptq::run::parse_experiment_spec(two_model_spec(nlohmann::json::object()), "g", "/"));
  for (size_t i = 0; i < cells.size(); ++i) CHECK(cells[i].run_id == plain[i].run_id);

  ptq::run::SlurmOptions o;
  o.time = "04:00:00";
  o.gpus_per_task = 1;
  o.max_parallel = 3;
  o.partition = "gpu";
  o.sbatch_args = {"--constraint=h100"};
  const auto jobs = ptq::run::make_slurm_jobs(cells, {0, 2, 3, 4, 5}, "grid", o, paths());  // cell 1 is DONE
  REQUIRE(jobs.arrays.size() == 2);
  const auto& small = jobs.arrays[0];
  const auto& big = jobs.arrays[1];
  CHECK(small.indices == std::vector<int64_t>{0, 2});
  CHECK(big.indices == std::vector<int64_t>{3, 4, 5});
  CHECK(small.script_name == "cells_0.sbatch");
  CHECK(big.script_name == "cells_1.sbatch");
  CHECK_THAT(small.script, Contains("#SBATCH --array=0,2%3\n") && Contains("#SBATCH --gpus-per-task=1\n") &&
                               Contains("#SBATCH --time=04:00:00\n") && Contains("#SBATCH --partition=gpu\n") &&
                               Contains("#SBATCH --constraint=h100\n") && Contains("#SBATCH --requeue\n") &&
                               Contains("#SBATCH --signal=B:USR1@300\n") && Contains("#SBATCH --chdir=/home/me\n") &&
                               Contains("#SBATCH --output=/r/slurm/grid/logs/%A_%a.out\n"));
  CHECK_THAT(big.script, Contains("#SBATCH --array=3-5%3\n") && Contains("#SBATCH --gpus-per-task=4\n") &&
                             Contains("#SBATCH --mem=320G\n") && Contains("#SBATCH --time=2-00:00:00\n"));
  // The worker: this cell of this plan, quoted; the stop exit code requeues the task.
  CHECK_THAT(small.script, Contains("'/opt/ptq bench/ptqbench' run --plan /r/slurm/grid/plan_x.jsonl --index "
                                    "\"$SLURM_ARRAY_TASK_ID\" --results /r --no-cache &") &&
                               Contains("trap 'kill -USR1 \"$worker\" 2>/dev/null' USR1 TERM") &&
                               Contains("if [ \"$rc\" -eq 5 ]; then") &&
                               Contains("scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\""));
  // The ingest job: the database, then the report, without GPUs.
  CHECK_THAT(jobs.ingest_script, Contains("ingest --results /r --db /r/ptqbench.db --papers /e/papers/omniquant.json\n") &&
                                     Contains("report --db /r/ptqbench.db --experiment grid --format md -o /r/slurm/grid/report.md") &&
                                     Contains("#SBATCH --kill-on-invalid-dep=yes\n"));
  CHECK(jobs.ingest_script.find("gpus") == std::string::npos);
}

TEST_CASE("defaults: CPU specs ask for no GPU, short limits shorten the signal lead, bad resources are refused",
          "[unit][slurm]") {
  const auto cells = ptq::run::plan_cells(ptq::run::parse_experiment_spec(two_model_spec({{"cpus", 16}}), "g", "/"));
  ptq::run::SlurmOptions o;  // gpus_per_task -1: from the runtime device (cpu here)
  o.time = "20";             // 20 minutes: the 300 s lead becomes a quarter of the limit
  const auto jobs = ptq::run::make_slurm_jobs(cells, {0, 1, 2, 3}, "grid", o, paths());
  REQUIRE(jobs.arrays.size() == 2);
  CHECK(jobs.arrays[0].script_name == "cells_0.sbatch");
  CHECK(jobs.arrays[0].script.find("gpus-per-task") == std::string::npos);
  CHECK_THAT(jobs.arrays[0].script, Contains("#SBATCH --array=0-2\n") && Contains("#SBATCH --signal=B:USR1@300\n"));
  CHECK_THAT(jobs.arrays[1].script, Contains("#SBATCH --array=3\n") && Contains("#SBATCH --cpus-per-task=16\n"));
  o.time = "2";
  CHECK_THAT(ptq::run::make_slurm_jobs(cells, {0}, "grid", o, paths()).arrays[0].script, Contains("#SBATCH --signal=B:USR1@30\n"));
  o.time = "two hours";
  CHECK_THROWS_WITH(ptq::run::make_slurm_jobs(cells, {0}, "grid", o, paths()), Contains("--time two hours"));
  CHECK_THROWS_WITH(ptq::run::parse_experiment_spec(two_model_spec({{"gpu", 2}}), "g.json", "/"),
                    Contains("g.json: models[1].slurm") && Contains("gpu"));
  CHECK_THROWS_WITH(ptq::run::parse_experiment_spec(two_model_spec({{"gpus", -2}}), "g.json", "/"),
                    Contains("models[1].slurm.gpus: -2 must be >= 0"));
  CHECK_THROWS_WITH(ptq::run::parse_experiment_spec(two_model_spec({{"mem", 64}}), "g.json", "/"), Contains("\"mem\" is 64"));
}
