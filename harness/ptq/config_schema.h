// A method's configuration declared once (torchao's shape: a typed config struct and one declaration of
// its fields): each field's JSON key, its struct member, where its default comes from and, for strings,
// the allowed values. Strict reading (unknown keys named with "did you mean", wrong types, values
// outside the allowed set), canonical writing (every key present: what run ids hash) and the listing of
// defaults with their sources (`ptqbench ls methods`) all derive from the declaration; a method adds only
// the checks that involve numbers or several fields.
#pragma once

#include "harness/ptq/method.h"
#include "harness/util/strict_json.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ptq::quant {

// An option that is "auto" (what the reference does in that case), "on" or "off".
enum class Switch { kAuto, kOn, kOff };
inline const std::vector<std::pair<std::string, Switch>>& switch_names() {
  static const std::vector<std::pair<std::string, Switch>> names = {
      {"auto", Switch::kAuto}, {"on", Switch::kOn}, {"off", Switch::kOff}};
  return names;
}
// The name of `value` in `names` (as a choice field writes it).
template <typename E>
std::string name_in(const std::vector<std::pair<std::string, E>>& names, E value) {
  for (const auto& [n, v] : names)
    if (v == value) return n;
  throw std::logic_error("name_in: a value without a name");
}

// Whether the option is on, given what "auto" means here.
inline bool is_on(Switch s, bool when_auto) { return s == Switch::kOn || (s == Switch::kAuto && when_auto); }

template <typename Config>
class ConfigSchema {
 public:
  explicit ConfigSchema(const std::string& method) : context_("config of method '" + method + "'") {}

  // Declares a field: `source` says where its default comes from (paper, released code, or why it is
  // ours); `allowed` (string fields only) lists its values.
  template <typename T>
  ConfigSchema& field(const char* key, T Config::*member, std::string source, std::vector<std::string> allowed = {}) {
    static_assert(std::is_same_v<T, std::string> || std::is_arithmetic_v<T> || std::is_same_v<T, std::vector<double>>,
                  "config fields are numbers, booleans, strings or arrays of numbers");
    Field f;
    f.key = key;
    f.source = std::move(source);
    f.allowed = allowed;
    f.write = [key, member](const Config& c, nlohmann::json& j) { j[key] = c.*member; };
    f.read = [key, member, allowed](StrictJsonReader& r, Config& c) {
      if constexpr (std::is_same_v<T, std::string>) {
        if (!allowed.empty()) return r.read_choice(key, c.*member, allowed);
      }
      r.read(key, c.*member);
    };
    fields_.push_back(std::move(f));
    return *this;
  }

  // Declares an enum field: in JSON one of the strings of `names`, in the struct the enum value.
  template <typename E>
  ConfigSchema& choice(const char* key, E Config::*member, std::string source, std::vector<std::pair<std::string, E>> names) {
    static_assert(std::is_enum_v<E>, "choice() declares enum fields");
    Field f;
    f.key = key;
    f.source = std::move(source);
    for (const auto& n : names) f.allowed.push_back(n.first);
    f.write = [key, member, names](const Config& c, nlohmann::json& j) { j[key] = name_in(names, c.*member); };
    f.read = [key, member, names, allowed = f.allowed](StrictJsonReader& r, Config& c) {
      std::string name = name_in(names, c.*member);  // the default, when the key is absent
      r.read_choice(key, name, allowed);
      for (const auto& [n, v] : names)
        if (n == name) c.*member = v;
    };
    fields_.push_back(std::move(f));
    return *this;
  }

  // Every field, in declaration order (the object's keys are sorted when dumped).
  nlohmann::json to_json(const Config& c) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& f : fields_) f.write(c, j);
    return j;
  }

  // The defaults overlaid with `j`: InputError naming the method, the key, the value and what was
  // expected for a wrong type, a value outside `allowed` or an unknown key.
  Config from_json(const nlohmann::json& j) const {
    Config c;
    StrictJsonReader r(j, context_);
    for (const auto& f : fields_) f.read(r, c);
    r.finish();
    return c;
  }

  // {"<key>": {"default": ..., "source": "...", "allowed": [...]}} for listings.
  nlohmann::json describe() const {
    const nlohmann::json defaults = to_json(Config{});
    nlohmann::json out = nlohmann::json::object();
    for (const auto& f : fields_) {
      out[f.key] = {{"default", defaults.at(f.key)}, {"source", f.source}};
      if (!f.allowed.empty()) out[f.key]["allowed"] = f.allowed;
    }
    return out;
  }

  // "config of method '<name>'": how errors name the object.
  const std::string& context() const { return context_; }

 private:
  struct Field {
    std::string key, source;
    std::vector<std::string> allowed;
    std::function<void(const Config&, nlohmann::json&)> write;
    std::function<void(StrictJsonReader&, Config&)> read;
  };
  std::string context_;
  std::vector<Field> fields_;
};

// A Method whose config is a Config with a schema: default_config, resolve_config and config_fields
// derive from it (Config provides `static const ConfigSchema<Config>& schema()`, `to_json()` and
// `static Config from_json(const nlohmann::json&)` with the method's own range checks).
template <typename Config>
class MethodWithConfig : public Method {
 public:
  nlohmann::json default_config() const override { return Config{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return Config::from_json(overrides).to_json();
  }
  nlohmann::json config_fields() const override { return Config::schema().describe(); }
};

}  // namespace ptq::quant
