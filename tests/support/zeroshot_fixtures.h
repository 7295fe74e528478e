// Hand-written 3-example files in each zero-shot task's original format (used by unit and integration
// tests). The expected lm-eval requests for them are written out by hand in the tests.
#pragma once

#include <string>

namespace ptq::test {

// Writes the files into the canonical layout under dir (piqa/, arc/, boolq/, hellaswag/, winogrande/,
// lambada/), so that dir works as --data-dir.
void write_zeroshot_fixtures(const std::string& dir);

}  // namespace ptq::test
