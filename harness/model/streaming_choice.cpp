#include "harness/model/streaming_choice.h"

#include "harness/io/tensor_store.h"
#include "harness/model/activation_home.h"
#include "harness/util/errors.h"

#include <c10/core/ScalarType.h>
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace ptq {

namespace {

double gb(int64_t bytes) { return static_cast<double>(bytes) / 1e9; }

// MemAvailable (free + reclaimable page cache); sysconf's free pages ignore the cache a checkpoint fills.
int64_t host_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return static_cast<int64_t>(::sysconf(_SC_AVPHYS_PAGES)) * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

StreamingChoice decide_streaming(const std::string& setting, int64_t weight_bytes, int64_t free_bytes) {
  if (setting == "on") return {true, "stream: on"};
  if (setting == "off") return {false, "stream: off"};
  if (setting != "auto") throw InputError(fmt::format("stream \"{}\": expected auto, on or off", setting));
  const bool stream = weight_bytes > free_bytes / 2;
  return {stream, fmt::format("stream: auto: weights {:.1f} GB {} half of the {:.1f} GB free", gb(weight_bytes),
                              stream ? ">" : "<=", gb(free_bytes))};
}

StreamingChoice choose_streaming(const std::string& setting, const std::string& model_dir, c10::Device device,
                                 c10::ScalarType dtype) {
  if (setting == "on" || setting == "off") return decide_streaming(setting, 0, 0);
  return choose_streaming(setting, io::TensorStore::open_dir(model_dir), device, dtype);  // headers only
}

StreamingChoice choose_streaming(const std::string& setting, const io::TensorStore& store, c10::Device device,
                                 c10::ScalarType dtype) {
  if (setting == "on" || setting == "off") return decide_streaming(setting, 0, 0);
  int64_t numel = 0;  // what the model will hold: a packed weight counts at its dequantized size
  for (const auto& name : store.names()) numel += store.info(name).numel();
  const int64_t free = device.is_cuda() ? free_device_bytes(device) : host_available_bytes();
  return decide_streaming(setting, numel * static_cast<int64_t>(c10::elementSize(dtype)), free);
}

}  // namespace ptq
