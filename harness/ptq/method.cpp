#include "harness/ptq/method.h"

#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <stdexcept>

namespace ptq::quant {

void MethodRegistry::add(std::unique_ptr<Method> method) {
  const std::string name = method->name();
  if (!methods_.emplace(name, std::move(method)).second)
    throw std::logic_error(fmt::format("method '{}' registered twice", name));
}

const Method& MethodRegistry::get(const std::string& name) const {
  const auto it = methods_.find(name);
  if (it != methods_.end()) return *it->second;
  const std::string hint = closest_match(name, names());
  throw InputError(fmt::format("unknown method '{}'{} (available: {})", name,
                               hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint), join(names(), ", ")));
}

std::vector<std::string> MethodRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : methods_) out.push_back(name);
  return out;
}

}  // namespace ptq::quant
