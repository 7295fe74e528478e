#include "harness/recon/checkpoint_file.h"

#include "harness/io/files.h"
#include "harness/io/safetensors.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

namespace ptq::recon {

void write_checkpoint_file(const std::string& path, const ReconOptions& o,
                           const std::vector<std::pair<std::string, at::Tensor>>& tensors, const BlockLog& log) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  io::write_safetensors(path, tensors,
                        {{"checkpoint_key", o.checkpoint_key},
                         {"first_epoch_loss", fmt::format("{:.17g}", log.first_epoch_loss)},
                         {"last_epoch_loss", fmt::format("{:.17g}", log.last_epoch_loss)}});
}

bool read_checkpoint_file(const std::string& path, const ReconOptions& o, std::map<std::string, at::Tensor>& tensors,
                          BlockLog& log) {
  if (!io::file_exists(path)) return false;
  const io::SafetensorsFile f(path);
  const auto key = f.metadata().find("checkpoint_key");
  if (key == f.metadata().end() || key->second != o.checkpoint_key)
    throw InputError(fmt::format("{}: a checkpoint of another run (key {}, expected {}); remove {} to start over", path,
                                 key == f.metadata().end() ? "none" : key->second, o.checkpoint_key, o.checkpoint_dir));
  for (const auto& t : f.tensors()) tensors[t.name] = f.load(t.name);
  log.first_epoch_loss = std::stod(f.metadata().at("first_epoch_loss"));
  log.last_epoch_loss = std::stod(f.metadata().at("last_epoch_loss"));
  log.resumed = true;
  return true;
}

}  // namespace ptq::recon
