// Every PTQ method the harness knows, registered explicitly (one line each in register_all.cpp).
#pragma once

#include "harness/ptq/method.h"

#include <memory>

namespace ptq::methods {

const quant::MethodRegistry& registry();
// Adds a runtime plugin's method (the plugin loader checks the name first; a duplicate is a logic error).
// Not thread-safe: plugins load before any work starts.
void register_method(std::unique_ptr<quant::Method> method);

}  // namespace ptq::methods
