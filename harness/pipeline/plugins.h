// Loading runtime plugins (harness/pipeline/plugin.h): dlopen, the ABI check, registration of their
// methods and evaluators, and what was loaded from where (for run ids, provenance, `ls`, Slurm).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq::plugin {

struct LoadedPlugin {
  std::string name, version, description;  // as the plugin declares them
  std::string path;                        // absolute, as loaded
  std::string sha256;                      // of the file, when loaded
  std::vector<std::string> methods, tasks;  // what it registered

  // {"name", "version", "path", "sha256"}: what results record of the plugin that produced them.
  nlohmann::json provenance() const { return {{"name", name}, {"version", version}, {"path", path}, {"sha256", sha256}}; }
};

// This ptqbench's ABI tag (PTQBENCH_PLUGIN_ABI_TAG as the core was compiled).
std::string host_abi_tag();

// Loads the plugin at `path` and registers what it adds; `origin` says where the path came from ("--plugin",
// "PTQBENCH_PLUGINS", "experiment.json \"plugins\"[0]") for messages. Loading the same file again returns
// the plugin loaded before. InputError, one line naming the path and `origin`, registering nothing, for: a
// missing or unloadable file, no entry point, an ABI tag other than host_abi_tag(), a bad name or version,
// another file with the same plugin name, a method or task name that exists already, a registration that
// throws. Not thread-safe: plugins load before work starts.
const LoadedPlugin& load_plugin(const std::string& path, const std::string& origin);

// PTQBENCH_PLUGINS: a ':'-separated list of plugin paths (empty entries ignored).
void load_plugins_from_environment();

std::vector<LoadedPlugin> loaded_plugins();
const LoadedPlugin* plugin_named(const std::string& name);  // nullptr when none of that name is loaded
// The plugin that registered a method or task; nullptr for ptqbench's own.
const LoadedPlugin* plugin_of_method(const std::string& method);
const LoadedPlugin* plugin_of_task(const std::string& task);

}  // namespace ptq::plugin
