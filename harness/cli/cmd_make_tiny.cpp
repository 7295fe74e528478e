// `ptqbench make-tiny --out DIR`: regenerate the embedded default model and its data (see tiny/make_tiny.h).
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/cli/runtime_options.h"
#include "harness/tiny/make_tiny.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

namespace ptq::cli {

namespace {

struct MakeTinyCliOptions {
  tiny::MakeTinyOptions make;
  RuntimeOptions runtime;
};

}  // namespace

void add_make_tiny_command(CLI::App& app) {
  auto opts = std::make_shared<MakeTinyCliOptions>();
  opts->runtime.threads = 2;  // fixed by default: float results (and so the hashes) depend on the thread count
  auto* cmd = app.add_subcommand("make-tiny", "Regenerate the embedded tiny model and its data (corpus, tasks, tokenizer, training)");
  cmd->add_option("--out", opts->make.out_dir, "Output root (writes models/tiny-llama, data/tiny, tiny_manifest.json)")
      ->required();
  cmd->add_option("--seed", opts->make.seed, "Seed of everything")->capture_default_str();
  cmd->add_option("--steps", opts->make.steps, "Training steps")->capture_default_str();
  cmd->add_flag("--small", opts->make.small, "A minute-sized variant (tests)");
  cmd->add_option("--transforms", opts->make.transforms,
                  "Equivalence transforms after training: all (activation outliers and heavy-tailed weights), "
                  "activations, none (ablations; tiny/outliers.h)")
      ->check(one_of({"all", "activations", "none"}))
      ->capture_default_str();
  cmd->add_option("--trained-cache", opts->make.trained_cache,
                  "Directory for the trained weights before the outlier transforms: written after training, reused "
                  "when present (to iterate on the transforms, tasks or reports without training again)");
  cmd->add_option("--threads", opts->runtime.threads, "CPU threads (the hashes are for a fixed count)")
      ->capture_default_str();
  cmd->add_option("--numerics", opts->runtime.numerics,
                  "native, or reproducible: the same hashes on any x86-64 machine with AVX2 (util/numerics.h)")
      ->capture_default_str();
  cmd->callback([opts, cmd] {
    apply_runtime_options(opts->runtime);
    auto make = opts->make;
    make.command = fmt::format("ptqbench make-tiny --out {} --seed {} --steps {}{}{} --threads {}{}", make.out_dir, make.seed,
                               make.steps, make.small ? " --small" : "",
                               make.transforms == "all" ? "" : " --transforms " + make.transforms, opts->runtime.threads,
                               opts->runtime.numerics == "native" ? "" : " --numerics " + opts->runtime.numerics);
    const auto report = tiny::make_tiny(make);
    fmt::print("{}\n", report.dump(2));
  });
}

}  // namespace ptq::cli
