// Every PTQ method the harness knows, registered explicitly (one line each in register_all.cpp).
#pragma once

#include "harness/ptq/method.h"

namespace ptq::methods {

const quant::MethodRegistry& registry();

}  // namespace ptq::methods
