#include "register_all.h"

#include "cbq/cbq.h"
#include "lrquant/lrquant.h"
#include "mppq/mppq.h"
#include "omniquant/omniquant.h"
#include "rtn/rtn.h"
#include "testing/test_fault.h"

#include <cstdlib>
#include <cstring>

#include <mutex>

namespace ptq::methods {

const quant::MethodRegistry& registry() {
  static quant::MethodRegistry r;
  static std::once_flag once;
  std::call_once(once, [] {
    r.add(make_rtn());
    r.add(make_omniquant());
    r.add(make_lrquant());
    r.add(make_cbq());
    r.add(make_mppq());
    // The harness's own fault-injection method, for its tests only (see testing/test_fault.h).
    const char* test_methods = std::getenv("PTQBENCH_TEST_METHODS");
    if (test_methods != nullptr && std::strcmp(test_methods, "1") == 0) r.add(make_test_fault());
  });
  return r;
}

}  // namespace ptq::methods
