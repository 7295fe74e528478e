// `ptqbench tokenize`: the ids a model sees for a text, as the harness's evaluators and calibration
// tokenize it (Hugging Face's tokenizer(text) by default), so users can check a tokenizer against theirs.
#include "harness/cli/commands.h"
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "harness/util/utf8.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct TokenizeOptions {
  std::string model_dir, tokenizer, file, text;
  bool has_text = false;
  bool json = false;
  bool no_special = false;
  bool pieces = false;
};

Tokenizer load_for(const TokenizeOptions& o) {
  if (!o.tokenizer.empty()) return Tokenizer::load(o.tokenizer);
  std::error_code ec;
  if (!fs::is_directory(o.model_dir, ec)) throw InputError(fmt::format("--model {}: not a directory", o.model_dir));
  if (!Tokenizer::find_in(o.model_dir))
    throw InputError(fmt::format("--model {}: no tokenizer.model, tokenizer.json or original/tokenizer.model", o.model_dir));
  return Tokenizer::load(o.model_dir);
}

void run_tokenize(const TokenizeOptions& o) {
  if (o.model_dir.empty() == o.tokenizer.empty()) throw InputError("tokenize: give exactly one of --model DIR or --tokenizer FILE");
  if (o.file.empty() == !o.has_text) throw InputError("tokenize: give exactly one of --file FILE or --text TEXT");
  const Tokenizer tok = load_for(o);
  if (o.has_text) require_utf8(o.text, "--text");
  const std::string text = o.has_text ? o.text : eval::read_text_file(o.file);
  const std::vector<int32_t> ids = o.no_special ? tok.encode(text) : tok.encode_input(text);
  if (o.json) {
    nlohmann::json j = ids;
    if (o.pieces) {
      nlohmann::json p = nlohmann::json::array();
      for (int32_t id : ids) p.push_back(tok.piece(id));
      j = {{"ids", ids}, {"pieces", p}};
    }
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("# {} ({}), tokenizer(text) = {}, {} ids\n", tok.path(), tok.kind(),
             o.no_special ? "text" : tok.added_tokens_description(), ids.size());
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    line += (i == 0 ? "" : " ") + (o.pieces ? fmt::format("{}:{}", ids[i], nlohmann::json(tok.piece(ids[i])).dump(
                                                                            -1, ' ', false, nlohmann::json::error_handler_t::replace))
                                           : std::to_string(ids[i]));
    if (line.size() > 100) {
      fmt::print("{}\n", line);
      line.clear();
    }
  }
  if (!line.empty()) fmt::print("{}\n", line);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids a model sees for a text (tokenizer(text), as evaluated)");
  cmd->add_option("--model", opts->model_dir, "Model directory (its tokenizer.model / tokenizer.json)");
  cmd->add_option("--tokenizer", opts->tokenizer, "A tokenizer file instead (tokenizer.model or tokenizer.json)");
  cmd->add_option("--file", opts->file, "Text file to tokenize (read as UTF-8, as is)");
  cmd->add_option_function<std::string>("--text", [opts](const std::string& t) { opts->text = t; opts->has_text = true; },
                                        "Text to tokenize");
  cmd->add_flag("--json", opts->json, "Print a JSON array of ids (with --pieces: {\"ids\", \"pieces\"})");
  cmd->add_flag("--pieces", opts->pieces, "Show each id's vocabulary piece");
  cmd->add_flag("--no-special", opts->no_special, "Only the text's ids: no BOS/EOS added (special strings still match)");
  cmd->callback([opts] { run_tokenize(*opts); });
}

}  // namespace ptq::cli
