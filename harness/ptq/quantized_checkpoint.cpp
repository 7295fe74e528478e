#include "harness/ptq/quantized_checkpoint.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/io/safetensors.h"
#include "harness/io/tensor_store.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::quant {

std::optional<QuantizationInfo> read_quantization_info(const std::string& dir) {
  const std::string path = (fs::path(dir) / kQuantizationFile).string();
  if (!io::file_exists(path)) return std::nullopt;
  QuantizationInfo info;
  info.document = io::read_json_file(path);
  const auto& d = info.document;
  if (!d.is_object() || !d.contains("format_version") || !d.contains("setting") || !d.contains("method") ||
      !d["setting"].is_string() || !d["method"].is_string())
    throw InputError(fmt::format("{}: expected an object with format_version, setting and method", path));
  if (d["format_version"] != kQuantizationFormat)
    throw InputError(fmt::format("{}: format_version {} is not supported (expected {})", path,
                                 d["format_version"].dump(), kQuantizationFormat));
  info.setting = QuantSetting::parse(d["setting"].get<std::string>());
  info.method = d["method"].get<std::string>();
  return info;
}

void apply_checkpoint_activation_quant(LlamaModel& model, const QuantSetting& setting, const std::string& dir) {
  apply_activation_quant(model, setting);
  if (!model.config().act_clip) return;
  const auto store = io::TensorStore::open_dir(dir);  // load_llama checked the names and shapes
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    const at::Tensor logits = store.load(fmt::format("model.layers.{}.{}", i, kActClipTensor));
    model.set_activation_hook(i, with_clipping(model.activation_hook(i), logits.to(model.device(), model.dtype())));
  }
}

void write_quantized_checkpoint(LlamaModel& model, const std::string& out_dir, c10::ScalarType storage_dtype,
                                const nlohmann::json& quantization_doc, const MethodReport& report,
                                const std::string& source_model_dir, bool overwrite) {
  const fs::path out(out_dir);
  std::error_code ec;
  if (fs::exists(out, ec) && !overwrite)
    throw InputError(fmt::format("output directory {} already exists (choose another --out or pass --overwrite)", out_dir));
  const fs::path tmp = out.string() + fmt::format(".partial-{}", ::getpid());
  fs::remove_all(tmp, ec);
  try {
    save_llama(model, tmp.string(), storage_dtype, {{"quantization", quantization_doc.value("setting", "")}});
    if (!report.qparams.empty()) io::write_safetensors((tmp / kQParamsFile).string(), report.qparams);
    for (const std::string& name : Tokenizer::files_in(source_model_dir)) {
      fs::create_directories((tmp / name).parent_path());
      fs::copy_file(fs::path(source_model_dir) / name, tmp / name);
      fs::permissions(tmp / name, fs::perms::owner_write, fs::perm_options::add);  // source may be read-only
    }
    // quantization.json last: a directory that has it is complete.
    io::write_file_atomic((tmp / kQuantizationFile).string(), quantization_doc.dump(2) + "\n");
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(out, ec)) {
    const fs::path old = out.string() + fmt::format(".old-{}", ::getpid());
    fs::rename(out, old);
    fs::rename(tmp, out);
    fs::remove_all(old, ec);
  } else {
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    fs::rename(tmp, out);
  }
}

}  // namespace ptq::quant
