#include "harness/report/provenance_summary.h"

#include "harness/util/numerics.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <vector>

namespace ptq::report {

namespace {

std::string text_at(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return "";
    cur = &(*cur)[k];
  }
  return cur->is_string() ? cur->get<std::string>() : cur->is_null() ? "" : cur->dump();
}

}  // namespace

std::string provenance_line(const nlohmann::json& env) {
  if (!env.is_object() || env.empty()) return "";
  std::vector<std::string> parts;
  const nlohmann::json& numerics = env.contains("numerics") ? env["numerics"] : nlohmann::json();
  std::string cpu = text_at(numerics, {"cpu", "model"});
  if (!cpu.empty()) {
    std::vector<std::string> isa;
    if (numerics["cpu"].contains("isa") && numerics["cpu"]["isa"].is_array())
      for (const auto& f : numerics["cpu"]["isa"]) isa.push_back(f.get<std::string>());
    parts.push_back(fmt::format("CPU {}{}", cpu, isa.empty() ? "" : " (" + join(isa, " ") + ")"));
  }
  if (!numerics.is_null()) parts.push_back("numerics " + numerics_summary(numerics));
  if (const auto t = text_at(env, {"threads"}); !t.empty()) parts.push_back("threads " + t);
  if (const auto d = text_at(env, {"device_name"}); !d.empty()) parts.push_back("device " + d);
  if (const auto v = text_at(env, {"harness_version"}); !v.empty()) {
    const std::string sha = text_at(env, {"git_sha"});
    parts.push_back(fmt::format("ptqbench {}{}", v, sha.empty() ? "" : " (" + sha.substr(0, 10) + ")"));
  }
  if (const auto v = text_at(env, {"libtorch_version"}); !v.empty()) parts.push_back("LibTorch " + v);
  return join(parts, ", ");
}

}  // namespace ptq::report
