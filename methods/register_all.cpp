#include "methods/register_all.h"

#include "methods/awq/awq.h"
#include "methods/cbq/cbq.h"
#include "methods/gptq/gptq.h"
#include "methods/lrquant/lrquant.h"
#include "methods/mppq/mppq.h"
#include "methods/omniquant/omniquant.h"
#include "methods/rtn/rtn.h"
#include "methods/testing/lsq_rtn.h"
#include "methods/testing/test_fault.h"

#include <cstdlib>
#include <cstring>

#include <mutex>

namespace ptq::methods {

namespace {

quant::MethodRegistry& the_registry() {
  static quant::MethodRegistry r;
  static std::once_flag once;
  std::call_once(once, [] {
    r.add(make_rtn());
    r.add(make_omniquant());
    r.add(make_lrquant());
    r.add(make_cbq());
    r.add(make_mppq());
    r.add(make_awq());
    r.add(make_gptq());
    // The harness's own test methods: fault injection (testing/test_fault.h) and a closed-form method
    // that exercises the engine's contract (testing/lsq_rtn.h).
    const char* test_methods = std::getenv("PTQBENCH_TEST_METHODS");
    if (test_methods != nullptr && std::strcmp(test_methods, "1") == 0) {
      r.add(make_test_fault());
      r.add(make_lsq_rtn());
    }
  });
  return r;
}

}  // namespace

const quant::MethodRegistry& registry() { return the_registry(); }

void register_method(std::unique_ptr<quant::Method> method) { the_registry().add(std::move(method)); }

}  // namespace ptq::methods
