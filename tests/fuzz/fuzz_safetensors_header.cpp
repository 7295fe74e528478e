// A safetensors file as it is mapped (io/safetensors_header.h): the 8-byte length, the JSON header, the
// buffer. What is accepted must describe tensors that tile the buffer exactly, each inside the file, with
// dtype x shape = its byte length: the loader copies bytes from these offsets next.
#include "harness/io/safetensors_header.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ptq::io::SafetensorsHeader h;
  if (!ptq::fuzz::accepts([&] { h = ptq::io::parse_safetensors_header(data, size, "fuzz.safetensors"); })) return 0;
  uint64_t expected = 0;
  for (const auto& t : h.tensors) {
    const int bits = ptq::io::safetensors_dtype_bits(t.dtype);
    uint64_t numel = 1;
    for (const int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    if (t.begin != expected || t.end < t.begin || bits <= 0 || numel * static_cast<uint64_t>(bits) / 8 != t.nbytes()) {
      std::fprintf(stderr, "fuzz_safetensors_header: accepted tensor '%s' [%llu, %llu) with %d-bit dtype\n",
                   t.name.c_str(), (unsigned long long)t.begin, (unsigned long long)t.end, bits);
      std::abort();
    }
    expected = t.end;
  }
  if (h.data_start + expected != size) {
    std::fprintf(stderr, "fuzz_safetensors_header: tensors end at %llu, the file at %zu\n",
                 (unsigned long long)(h.data_start + expected), size);
    std::abort();
  }
  return 0;
}
