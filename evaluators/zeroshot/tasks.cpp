#include "evaluators/zeroshot/tasks.h"

#include "harness/io/files.h"
#include "harness/io/sha256.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::eval {

const std::vector<ZeroShotTaskInfo>& zeroshot_tasks() {
  // reported_metric: acc_norm for PIQA/ARC/HellaSwag, acc for BoolQ/WinoGrande (research/eval_protocols.md
  // §2.4, inferred from the OmniQuant FP16 LLaMA-7B row); LAMBADA tables report acc.
  static const std::vector<ZeroShotTaskInfo> tasks = {
      {"piqa", "PIQA validation (1,838), 2 solutions", Decision::kArgmax, true, "acc_norm",
       {"valid.jsonl", "valid-labels.lst"}, "piqa"},
      {"arc_easy", "ARC-Easy test (2,376), 3-5 choices", Decision::kArgmax, true, "acc_norm",
       {"ARC-Easy-Test.jsonl"}, "arc"},
      {"arc_challenge", "ARC-Challenge test (1,172), 3-5 choices", Decision::kArgmax, true, "acc_norm",
       {"ARC-Challenge-Test.jsonl"}, "arc"},
      {"boolq", "BoolQ dev (3,270), yes/no", Decision::kBoolqYesNo, false, "acc", {"dev.jsonl"}, "boolq"},
      {"hellaswag", "HellaSwag validation (10,042), 4 endings", Decision::kArgmax, true, "acc_norm",
       {"hellaswag_val.jsonl"}, "hellaswag"},
      {"winogrande", "WinoGrande dev (1,267), partial evaluation", Decision::kArgmax, false, "acc", {"dev.jsonl"},
       "winogrande"},
      {"lambada_openai", "LAMBADA (OpenAI) test (5,153), last word", Decision::kGreedy, false, "acc",
       {"lambada_test.jsonl"}, "lambada"},
  };
  return tasks;
}

const ZeroShotTaskInfo* find_zeroshot_task(const std::string& name) {
  for (const auto& t : zeroshot_tasks())
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> resolve_zeroshot_files(const std::string& name, const std::string& data_dir) {
  const ZeroShotTaskInfo* info = find_zeroshot_task(name);
  if (info == nullptr) throw InputError(fmt::format("unknown zero-shot task '{}'", name));
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) throw InputError(fmt::format("--data-dir {} is not a directory", data_dir));
  std::vector<std::string> paths;
  for (const auto& file : info->files) {
    const fs::path nested = fs::path(data_dir) / info->subdir / file, flat = fs::path(data_dir) / file;
    const std::string path = io::file_exists(nested.string()) ? nested.string() : flat.string();
    if (!io::file_exists(path))
      throw InputError(fmt::format("task {}: {} not found (looked for {} and {})", name, file, nested.string(),
                                   flat.string()));
    paths.push_back(path);
  }
  return paths;
}

LoadedTask load_zeroshot_task(const std::string& name, const std::string& data_dir) {
  const std::vector<std::string> paths = resolve_zeroshot_files(name, data_dir);
  LoadedTask out;
  out.info = find_zeroshot_task(name);
  out.files = nlohmann::json::array();
  for (const auto& path : paths) out.files.push_back({{"path", path}, {"sha256", io::sha256_file(path)}});
  if (name == "piqa") out.docs = load_piqa(paths[0], paths[1]);
  else if (name == "arc_easy" || name == "arc_challenge") out.docs = load_arc(paths[0]);
  else if (name == "boolq") out.docs = load_boolq(paths[0]);
  else if (name == "hellaswag") out.docs = load_hellaswag(paths[0]);
  else if (name == "winogrande") out.docs = load_winogrande(paths[0]);
  else out.docs = load_lambada(paths[0]);
  return out;
}

}  // namespace ptq::eval
