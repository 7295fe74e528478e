// The JSON reader every user file goes through (util/json_text.h): depth-bounded, duplicate keys refused
// on request, numbers that overflow refused. Whatever it accepts must be within the depth limit and must
// serialise and parse back to the same value (so nothing downstream meets a value it cannot print).
#include "harness/util/input_limits.h"
#include "harness/util/json_text.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

namespace {

// Depth of a parsed value, iteratively (the value is bounded, but the check must not trust that).
int depth_of(const nlohmann::json& root) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack = {{&root, 1}};
  while (!stack.empty()) {
    const auto [v, d] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, d);
    if (v->is_structured())
      for (const auto& child : *v) stack.push_back({&child, d + 1});
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = ptq::fuzz::as_text(data, size);
  for (const bool strict : {false, true}) {
    nlohmann::json doc;
    ptq::JsonTextOptions options;
    options.reject_duplicate_keys = strict;
    if (!ptq::fuzz::accepts([&] { doc = ptq::parse_json_text(text, "fuzz.json", options); })) continue;
    if (depth_of(doc) > ptq::limit_value(ptq::Limit::kJsonDepth) + 1) {
      std::fprintf(stderr, "fuzz_json_text: accepted a value %d deep\n", depth_of(doc));
      std::abort();
    }
    const std::string dumped = doc.dump();
    if (ptq::parse_json_text(dumped, "dumped", {}) != doc) {
      std::fprintf(stderr, "fuzz_json_text: the value does not survive dump and parse\n");
      std::abort();
    }
  }
  return 0;
}
