// The plugin API: how a shared library built outside ptqbench's tree adds methods and evaluators.
//
//   #include "harness/pipeline/plugin.h"
//   void register_mine(ptq::plugin::Registrar& r) { r.add_method(make_my_method()); }
//   PTQBENCH_PLUGIN("my-methods", "1.2.0", "what it adds", register_mine)
//
// built as a MODULE library linking ptqbench::core (find_package(ptqbench CONFIG); docs/plugins.md), and
// loaded with `ptqbench --plugin libmine.so ...`, PTQBENCH_PLUGINS or an experiment's "plugins".
//
// The one entry point, ptqbench_plugin_v1, returns a descriptor of plain C fields. ptqbench reads its
// ABI tag (this header's PTQBENCH_PLUGIN_ABI_TAG as the plugin's compiler saw it: ptqbench version,
// LibTorch version, C++ ABI) before any C++ object crosses, refuses a tag other than its own, and only
// then calls `register_all`. The name and version a plugin declares go into the run ids of its cells (so
// they stay the same across rebuilds and machines); the file's sha256 goes into their provenance.
#pragma once

#include "evaluators/evaluator.h"
#include "harness/ptq/method.h"

#include <torch/version.h>

#include <memory>

// The descriptor's layout; a new layout gets a new entry point name.
#define PTQBENCH_PLUGIN_LAYOUT 1

#ifndef PTQBENCH_VERSION
#error "PTQBENCH_VERSION is undefined: link the plugin against ptqbench::core (find_package(ptqbench CONFIG))"
#endif

#define PTQBENCH_PLUGIN_STR_(x) #x
#define PTQBENCH_PLUGIN_STR(x) PTQBENCH_PLUGIN_STR_(x)
// Everything a plugin's binary must share with the ptqbench that loads it. ptqbench's version stands for
// its headers (classes and their layouts change between versions); LibTorch's for at::Tensor and the
// rest of its ABI; the Itanium C++ ABI version and libstdc++'s string ABI for std::string, std::function
// and exceptions crossing the boundary.
// PTQBENCH_PLUGIN_ABI_TAG_FOR_TORCH("2.4.0") is the tag of the same build against another LibTorch.
#define PTQBENCH_PLUGIN_ABI_TAG_FOR_TORCH(TORCH_VERSION_STRING)                                          \
  "ptqbench-plugin " PTQBENCH_PLUGIN_STR(PTQBENCH_PLUGIN_LAYOUT) "; ptqbench " PTQBENCH_VERSION          \
  "; libtorch " TORCH_VERSION_STRING "; c++ abi " PTQBENCH_PLUGIN_STR(__GXX_ABI_VERSION) "; cxx11 strings " \
  PTQBENCH_PLUGIN_STR(_GLIBCXX_USE_CXX11_ABI)
#define PTQBENCH_PLUGIN_ABI_TAG                                                                              \
  PTQBENCH_PLUGIN_ABI_TAG_FOR_TORCH(PTQBENCH_PLUGIN_STR(TORCH_VERSION_MAJOR) "." PTQBENCH_PLUGIN_STR(         \
      TORCH_VERSION_MINOR) "." PTQBENCH_PLUGIN_STR(TORCH_VERSION_PATCH))

namespace ptq::plugin {

// What a plugin's `register_all` adds to. Names must be new: a name ptqbench or another loaded plugin
// already has is refused (InputError naming both), and so is the whole plugin, atomically.
class Registrar {
 public:
  virtual ~Registrar() = default;
  virtual void add_method(std::unique_ptr<quant::Method> method) = 0;
  virtual void add_evaluator(eval::EvaluatorInfo info) = 0;
};

using RegisterFunction = void (*)(Registrar& registrar);

// Plain C fields: read by ptqbench before anything else of the plugin is trusted.
struct Descriptor {
  const char* abi_tag;      // PTQBENCH_PLUGIN_ABI_TAG as the plugin was compiled
  const char* name;         // "my-methods": [A-Za-z0-9._-]+, in run ids and provenance
  const char* version;      // "1.2.0": bump it when the plugin's results change; in run ids
  const char* description;  // one line, shown by `ptqbench ls plugins`
  RegisterFunction register_all;
};

}  // namespace ptq::plugin

// The entry point's name and type (C linkage: found with dlsym).
#define PTQBENCH_PLUGIN_ENTRY "ptqbench_plugin_v1"
using ptqbench_plugin_entry_fn = const ptq::plugin::Descriptor* (*)();

// Defines the entry point. Use once per plugin, at namespace scope.
#define PTQBENCH_PLUGIN(NAME, VERSION, DESCRIPTION, REGISTER_FUNCTION)                                         \
  extern "C" __attribute__((visibility("default"))) const ::ptq::plugin::Descriptor* ptqbench_plugin_v1() {    \
    static const ::ptq::plugin::Descriptor descriptor{PTQBENCH_PLUGIN_ABI_TAG, NAME, VERSION, DESCRIPTION,     \
                                                      REGISTER_FUNCTION};                                       \
    return &descriptor;                                                                                        \
  }
