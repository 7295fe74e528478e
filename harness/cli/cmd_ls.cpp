// `ptqbench ls methods|settings|evaluators|limits|plugins`: what the harness can do, with one line each;
// `ptqbench ls` alone: the lists in brief.
#include "evaluators/evaluator.h"
#include "evaluators/zeroshot_average.h"
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/pipeline/plugins.h"
#include "harness/ptq/quant_setting.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/text.h"
#include "methods/register_all.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

namespace ptq::cli {

namespace {

void print_overview() {
  std::vector<std::string> settings;
  for (const auto& s : quant::known_settings()) settings.push_back(s.name);
  fmt::print("ptqbench ls methods      {}\nptqbench ls settings     {} (and the grammar)\n"
             "ptqbench ls evaluators   {}\nptqbench ls limits       the input limits and their overrides\n"
             "ptqbench ls plugins      the loaded plugins ({})\n",
             join(methods::registry().names(), ", "), join(settings, ", "), join(eval::evaluators().names(), ", "),
             plugin::loaded_plugins().size());
}

// The input limits (util/input_limits.h): docs/limits.md shows this output.
void print_limits() {
  fmt::print("{:<26} {:>12} {:>12}  {:<36} {}\n", "limit", "default", "in force", "raise with", "what");
  for (const auto& l : input_limits()) {
    const std::string env = l.overridable ? limit_env_var(l) : "(fixed)";
    fmt::print("{:<26} {:>12} {:>12}  {:<36} {}\n", l.name, l.default_value, limit_value(l.limit), env, l.what);
  }
}

// The plugins loaded by --plugin, PTQBENCH_PLUGINS (docs/plugins.md), and the ABI tag they must carry.
void print_plugins() {
  const auto plugins = plugin::loaded_plugins();
  if (plugins.empty()) fmt::print("no plugins loaded (ptqbench --plugin PATH.so ls plugins, or PTQBENCH_PLUGINS)\n");
  for (const auto& p : plugins) {
    fmt::print("{} {}: {}\n  file:    {}\n  sha256:  {}\n", p.name, p.version, p.description, p.path, p.sha256);
    if (!p.methods.empty()) fmt::print("  methods: {}\n", join(p.methods, ", "));
    if (!p.tasks.empty()) fmt::print("  tasks:   {}\n", join(p.tasks, ", "));
  }
  fmt::print("plugin ABI of this ptqbench: {}\n", plugin::host_abi_tag());
}

void run_ls(const std::string& what) {
  if (what.empty()) {
    print_overview();
  } else if (what == "methods") {
    const auto& registry = methods::registry();
    for (const auto& name : registry.names()) {
      const auto& m = registry.get(name);
      fmt::print("{:<12} {}\n{:<12} in paper tables: {}\n{:<12} model types: {}\n{:<12} default config: {}\n", name,
                 m.description(), "", m.paper_name(), "", m.model_support(), "", m.default_config().dump());
      if (const plugin::LoadedPlugin* p = plugin::plugin_of_method(name))
        fmt::print("{:<12} from plugin {} {} ({})\n", "", p->name, p->version, p->path);
      const nlohmann::json fields = m.config_fields();
      for (const auto& [key, f] : fields.items())  // each default and where it comes from
        fmt::print("{:<12}   {:<20} {:<12} {}{}\n", "", key, f.at("default").dump(), f.at("source").get<std::string>(),
                   f.contains("allowed") ? " (one of: " + join(f.at("allowed").get<std::vector<std::string>>(), ", ") + ")" : "");
    }
  } else if (what == "settings") {
    for (const auto& s : quant::known_settings()) fmt::print("{:<12} {}\n", s.name, s.description);
    fmt::print("\nGrammar: W<bits>A<bits>[g<group>][KV<bits>][-wsym][-actsym]; bits 2..8 or 16 (not quantized).\n"
               "KV<bits> sets the Q/K/V activation bits; -wsym / -actsym choose symmetric quantizers.\n");
  } else if (what == "evaluators") {
    for (const auto& t : eval::evaluators().all()) {
      std::vector<std::string> metrics;
      for (const auto& m : t.metrics) metrics.push_back(m.name + (m.higher_is_better ? " (higher is better)" : " (lower is better)"));
      fmt::print("{:<15} {}: {}\n{:<15} metrics: {}\n", t.name, t.kind, t.description, "", join(metrics, ", "));
    }
    fmt::print("{:<15} average: the reported metric's mean over the papers' tasks evaluated ({}; eval --average "
               "or an experiment's evaluators.average choose others)\n{:<15} metrics: {} (higher is better)\n",
               "(average)", join(eval::paper_average_tasks(), ", "), "", eval::kZeroShotAverage);
  } else if (what == "limits") {
    print_limits();
  } else if (what == "plugins") {
    print_plugins();
  } else {
    require_known("ptqbench ls", "list", what, {"methods", "settings", "evaluators", "limits", "plugins"});
  }
}

}  // namespace

void add_ls_command(CLI::App& app) {
  auto what = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("ls", "List methods, settings, evaluators or input limits (in brief without an argument)");
  cmd->add_option("what", *what, "methods | settings | evaluators | limits | plugins");
  cmd->callback([what] { run_ls(*what); });
}

}  // namespace ptq::cli
