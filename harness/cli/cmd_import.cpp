// `ptqbench import-llama2c MODEL.bin TOKENIZER.model OUT_DIR`: a llama2.c checkpoint (tinyllamas) as an HF
// checkpoint directory, so small real models can be evaluated and quantized by the harness.
#include "harness/cli/commands.h"
#include "harness/io/files.h"
#include "harness/model/checkpoint.h"
#include "harness/model/llama2c_import.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct ImportOptions {
  std::string bin, tokenizer, out_dir;
  double rms_norm_eps = 1e-5;
};

void run_import(const ImportOptions& o) {
  LlamaModel m = import_llama2c(o.bin, o.rms_norm_eps);
  const Tokenizer tok = Tokenizer::load(o.tokenizer);
  if (tok.vocab_size() != m.config().vocab_size)
    throw InputError(fmt::format("{}: {} pieces, but the checkpoint's vocabulary has {}", o.tokenizer, tok.vocab_size(),
                                 m.config().vocab_size));
  save_llama(m, o.out_dir, at::kFloat, {{"source", fs::path(o.bin).filename().string()}, {"converter", "ptqbench import-llama2c"}});
  const fs::path tok_out = fs::path(o.out_dir) / "tokenizer.model";
  fs::copy_file(o.tokenizer, tok_out, fs::copy_options::overwrite_existing);
  fs::permissions(tok_out, fs::perms::owner_write, fs::perm_options::add);  // the source may be read-only
  fmt::print("wrote {} ({} layers, hidden {}, {} heads / {} KV heads, vocab {})\n", o.out_dir, m.config().num_hidden_layers,
             m.config().hidden_size, m.config().num_attention_heads, m.config().num_key_value_heads, m.config().vocab_size);
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto opts = std::make_shared<ImportOptions>();
  auto* cmd = app.add_subcommand("import-llama2c", "Convert a llama2.c checkpoint (.bin) into an HF checkpoint directory");
  cmd->add_option("bin", opts->bin, "llama2.c model file (version 0 export)")->required();
  cmd->add_option("tokenizer", opts->tokenizer, "its sentencepiece tokenizer.model")->required();
  cmd->add_option("out_dir", opts->out_dir, "output directory (config.json, model.safetensors, tokenizer.model)")->required();
  cmd->add_option("--rms-norm-eps", opts->rms_norm_eps, "RMSNorm epsilon (llama2.c uses 1e-5)")->capture_default_str();
  cmd->callback([opts] { run_import(*opts); });
}

}  // namespace ptq::cli
