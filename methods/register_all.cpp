#include "register_all.h"

#include "rtn/rtn.h"

#include <mutex>

namespace ptq::methods {

const quant::MethodRegistry& registry() {
  static quant::MethodRegistry r;
  static std::once_flag once;
  std::call_once(once, [] {
    r.add(make_rtn());
  });
  return r;
}

}  // namespace ptq::methods
