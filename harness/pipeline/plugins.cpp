#include "harness/pipeline/plugins.h"

#include "evaluators/evaluator.h"
#include "harness/io/files.h"
#include "harness/io/sha256.h"
#include "harness/pipeline/plugin.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "methods/register_all.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

namespace fs = std::filesystem;

namespace ptq::plugin {

namespace {

// Every plugin loaded in this process, in load order (a deque: references stay valid). Plugins are never
// unloaded: their methods' code and vtables live in them until exit.
std::deque<LoadedPlugin>& loaded() {
  static std::deque<LoadedPlugin> plugins;
  return plugins;
}

// What a plugin's register_all adds, held back until all of it has been checked.
class StagingRegistrar final : public Registrar {
 public:
  void add_method(std::unique_ptr<quant::Method> method) override {
    if (method == nullptr) throw InputError("add_method was given a null method");
    methods.push_back(std::move(method));
  }
  void add_evaluator(eval::EvaluatorInfo info) override { evaluators.push_back(std::move(info)); }

  std::vector<std::unique_ptr<quant::Method>> methods;
  std::vector<eval::EvaluatorInfo> evaluators;
};

std::string first_line(const char* s) {
  const std::string text = s == nullptr ? "unknown error" : s;
  return text.substr(0, text.find('\n'));
}

// A name or version as run ids and provenance carry them: short, printable, no separators.
bool plain_token(const char* s, size_t max_length) {
  if (s == nullptr || *s == '\0' || std::strlen(s) > max_length) return false;
  return std::all_of(s, s + std::strlen(s), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '+';
  });
}

const LoadedPlugin* owner(const std::string& what, bool method) {
  for (const auto& p : loaded()) {
    const auto& names = method ? p.methods : p.tasks;
    if (std::find(names.begin(), names.end(), what) != names.end()) return &p;
  }
  return nullptr;
}

std::string owner_name(const std::string& what, bool method) {
  const LoadedPlugin* p = owner(what, method);
  return p == nullptr ? "ptqbench itself" : fmt::format("plugin {} ({})", p->name, p->path);
}

const Descriptor& open_descriptor(const std::string& path, const std::string& where) {
  // RTLD_NOW: a symbol the plugin needs and this ptqbench lacks fails here, not in the middle of a run.
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const std::string err = first_line(::dlerror());
    const bool missing_symbol = err.find("undefined symbol") != std::string::npos;
    throw InputError(fmt::format("{}: cannot load it: {}{}", where, err,
                                 missing_symbol ? " (built against another ptqbench? rebuild it against this install)" : ""));
  }
  const auto entry = reinterpret_cast<ptqbench_plugin_entry_fn>(::dlsym(lib, PTQBENCH_PLUGIN_ENTRY));
  if (entry == nullptr)
    throw InputError(fmt::format("{}: no entry point {}: not a ptqbench plugin (define it with PTQBENCH_PLUGIN, "
                                 "harness/pipeline/plugin.h)",
                                 where, PTQBENCH_PLUGIN_ENTRY));
  const Descriptor* d = entry();
  if (d == nullptr || d->abi_tag == nullptr) throw InputError(fmt::format("{}: its entry point returned no ABI tag", where));
  if (host_abi_tag() != d->abi_tag)
    throw InputError(fmt::format("{}: built for \"{}\", but this ptqbench is \"{}\": rebuild the plugin against this "
                                 "install (find_package(ptqbench CONFIG))",
                                 where, bounded_excerpt(d->abi_tag), host_abi_tag()));
  if (!plain_token(d->name, 64))
    throw InputError(fmt::format("{}: plugin name \"{}\" is not 1-64 characters of [A-Za-z0-9._+-]", where,
                                 d->name == nullptr ? "" : bounded_excerpt(d->name)));
  if (!plain_token(d->version, 64))
    throw InputError(fmt::format("{}: plugin {} declares version \"{}\", expected 1-64 characters of [A-Za-z0-9._+-]",
                                 where, d->name, d->version == nullptr ? "" : bounded_excerpt(d->version)));
  if (d->register_all == nullptr) throw InputError(fmt::format("{}: plugin {} has no register function", where, d->name));
  return *d;
}

void check_staged(const StagingRegistrar& staged, const std::string& where) {
  const std::vector<std::string> registered = methods::registry().names();
  std::set<std::string> names(registered.begin(), registered.end());
  for (const auto& m : staged.methods) {
    const std::string name = m->name();
    if (name.empty()) throw InputError(fmt::format("{}: a method with an empty name", where));
    if (!names.insert(name).second)
      throw InputError(fmt::format("{}: method '{}' exists already (from {})", where, name, owner_name(name, true)));
  }
  names.clear();
  for (const auto& e : staged.evaluators) {
    if (e.name.empty() || !e.load || e.metrics.empty())
      throw InputError(fmt::format("{}: task '{}' needs a name, a load function and at least one metric", where, e.name));
    if (eval::evaluators().find(e.name) != nullptr || !names.insert(e.name).second)
      throw InputError(fmt::format("{}: task '{}' exists already (from {})", where, e.name, owner_name(e.name, false)));
  }
}

}  // namespace

std::string host_abi_tag() { return PTQBENCH_PLUGIN_ABI_TAG; }

const LoadedPlugin& load_plugin(const std::string& path, const std::string& origin) {
  const std::string where = fmt::format("plugin {} ({})", path, origin);
  if (path.empty()) throw InputError(fmt::format("an empty plugin path ({})", origin));
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw InputError(fmt::format("{}: no such file", where));
  const std::string absolute = fs::canonical(path).string();
  for (const auto& p : loaded())
    if (p.path == absolute) return p;

  const Descriptor& d = open_descriptor(absolute, where);
  for (const auto& p : loaded())
    if (p.name == d.name)
      throw InputError(fmt::format("{}: plugin name '{}' is taken by {}, loaded already", where, d.name, p.path));
  StagingRegistrar staged;
  try {
    d.register_all(staged);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: plugin {} failed to register: {}", where, d.name, first_line(e.what())));
  }
  check_staged(staged, where);

  LoadedPlugin p{d.name, d.version, d.description == nullptr ? "" : d.description, absolute, io::sha256_file(absolute), {}, {}};
  for (auto& m : staged.methods) {
    p.methods.push_back(m->name());
    methods::register_method(std::move(m));
  }
  for (auto& e : staged.evaluators) {
    p.tasks.push_back(e.name);
    eval::register_evaluator(std::move(e));
  }
  loaded().push_back(std::move(p));
  return loaded().back();
}

void load_plugins_from_environment() {
  const char* env = std::getenv("PTQBENCH_PLUGINS");
  if (env == nullptr) return;
  const std::string list = env;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(':', start), list.size());
    if (end > start) load_plugin(list.substr(start, end - start), "PTQBENCH_PLUGINS");
    start = end + 1;
  }
}

std::vector<LoadedPlugin> loaded_plugins() { return {loaded().begin(), loaded().end()}; }

const LoadedPlugin* plugin_named(const std::string& name) {
  for (const auto& p : loaded())
    if (p.name == name) return &p;
  return nullptr;
}

const LoadedPlugin* plugin_of_method(const std::string& method) { return owner(method, true); }

const LoadedPlugin* plugin_of_task(const std::string& task) { return owner(task, false); }

}  // namespace ptq::plugin
