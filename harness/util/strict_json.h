// Strict reading of JSON objects into config structs: every key must be known, every value of the right
// type; missing keys keep the struct's default. A misspelled key in an experiment file is an error, never
// a silent fallback to the default.
#pragma once

#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ptq {

class StrictJsonReader {
 public:
  // `context` names the object in messages, e.g. "config of method 'rtn'".
  StrictJsonReader(const nlohmann::json& j, std::string context);

  template <typename T>
  void read(const char* key, T& field) {
    known_.push_back(key);
    if (!j_.contains(key)) return;
    const auto& v = j_.at(key);
    if (!type_ok(v, field))
      throw InputError(fmt::format("{}: \"{}\" is {}, expected {}", context_, key, excerpt(v), type_name(field)));
    field = v.get<T>();
  }
  // Declares a key the caller reads itself (arrays, nested objects), so that finish() accepts it.
  void known(const char* key) { known_.push_back(key); }
  // Like read(), then requires the value to be one of `choices`.
  void read_choice(const char* key, std::string& field, const std::vector<std::string>& choices);
  // Throws InputError naming every key that no read() asked for.
  void finish() const;
  // A value as messages echo it: its JSON text cut to a bounded excerpt (a value can be a 1 MB string).
  static std::string excerpt(const nlohmann::json& v) { return bounded_excerpt(v.dump()); }

 private:
  static bool type_ok(const nlohmann::json& v, bool) { return v.is_boolean(); }
  // An int field takes only integers an int holds: get<int>() would wrap 5000000000 silently.
  static bool type_ok(const nlohmann::json& v, int) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX);
    return v.is_number_integer() && v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
  }
  static bool type_ok(const nlohmann::json& v, int64_t) {
    return v.is_number_integer() && (!v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
  }
  static bool type_ok(const nlohmann::json& v, double) { return v.is_number(); }
  static bool type_ok(const nlohmann::json& v, const std::string&) { return v.is_string(); }
  static bool type_ok(const nlohmann::json& v, const std::vector<double>&) {
    if (!v.is_array()) return false;
    for (const auto& x : v)
      if (!x.is_number()) return false;
    return true;
  }
  static const char* type_name(bool) { return "true or false"; }
  static const char* type_name(int) { return "an integer from -2147483648 to 2147483647"; }
  static const char* type_name(int64_t) { return "an integer"; }
  static const char* type_name(double) { return "a number"; }
  static const char* type_name(const std::string&) { return "a string"; }
  static const char* type_name(const std::vector<double>&) { return "an array of numbers"; }
  const nlohmann::json& j_;
  std::string context_;
  std::vector<std::string> known_;
};

}  // namespace ptq
