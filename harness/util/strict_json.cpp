#include "harness/util/strict_json.h"

#include "harness/util/text.h"

namespace ptq {

StrictJsonReader::StrictJsonReader(const nlohmann::json& j, std::string context) : j_(j), context_(std::move(context)) {
  if (!j_.is_object()) throw InputError(fmt::format("{}: {} is not a JSON object", context_, excerpt(j_)));
}

void StrictJsonReader::read_choice(const char* key, std::string& field, const std::vector<std::string>& choices) {
  read(key, field);
  for (const auto& c : choices)
    if (field == c) return;
  throw InputError(fmt::format("{}: \"{}\" is \"{}\", expected one of: {}", context_, key, bounded_excerpt(field),
                               join(choices, ", ")));
}

void StrictJsonReader::finish() const {
  for (const auto& [key, value] : j_.items()) {
    bool found = false;
    for (const auto& k : known_) found = found || k == key;
    if (!found) {
      const std::string hint = closest_match(key, known_);
      throw InputError(fmt::format("{}: unknown key \"{}\"{} (known: {})", context_, bounded_excerpt(key),
                                   hint.empty() ? "" : fmt::format(", did you mean \"{}\"?", hint), join(known_, ", ")));
    }
  }
}

}  // namespace ptq
