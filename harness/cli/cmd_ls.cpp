// `ptqbench ls methods|settings|evaluators`: what the harness can do, with one line each.
#include "cli/commands.h"
#include "perplexity/ppl_tasks.h"
#include "quant/quant_setting.h"
#include "register_all.h"
#include "util/errors.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

namespace ptq::cli {

namespace {

void run_ls(const std::string& what) {
  if (what == "methods") {
    const auto& registry = methods::registry();
    for (const auto& name : registry.names()) {
      const auto& m = registry.get(name);
      fmt::print("{:<12} {}\n{:<12} default config: {}\n", name, m.description(), "", m.default_config().dump());
    }
  } else if (what == "settings") {
    for (const auto& s : quant::known_settings()) fmt::print("{:<12} {}\n", s.name, s.description);
    fmt::print("\nGrammar: W<bits>A<bits>[g<group>][KV<bits>][-wsym][-actsym]; bits 2..8 or 16 (not quantized).\n"
               "KV<bits> sets the Q/K/V activation bits; -wsym / -actsym choose symmetric quantizers.\n");
  } else if (what == "evaluators") {
    for (const auto& t : eval::ppl_tasks()) fmt::print("{:<12} perplexity: {}\n", t.name, t.description);
  } else {
    throw InputError(fmt::format("ls {}: expected methods, settings or evaluators", what));
  }
}

}  // namespace

void add_ls_command(CLI::App& app) {
  auto what = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("ls", "List methods, settings or evaluators");
  cmd->add_option("what", *what, "methods | settings | evaluators")->required();
  cmd->callback([what] { run_ls(*what); });
}

}  // namespace ptq::cli
