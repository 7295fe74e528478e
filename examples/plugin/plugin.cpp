// The plugin's one entry point: what ptqbench calls after checking the ABI tag (harness/pipeline/plugin.h).
// The name and version go into the run ids of this plugin's cells: bump the version when results change.
#include "example_methods.h"
#include "harness/pipeline/plugin.h"

namespace {

void register_methods(ptq::plugin::Registrar& registrar) {
  registrar.add_method(example::make_rtn_mse());
  registrar.add_method(example::make_adaround());
}

}  // namespace

PTQBENCH_PLUGIN("example-methods", "1.0.0",
                "rtn_mse (RTN with GPTQ's MSE clipping search) and adaround (learned rounding on ptqbench's engine)",
                register_methods)
