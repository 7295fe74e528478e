// Every PTQ method the harness knows, registered explicitly (one line each in register_all.cpp).
#pragma once

#include "quant/method.h"

namespace ptq::methods {

const quant::MethodRegistry& registry();

}  // namespace ptq::methods
