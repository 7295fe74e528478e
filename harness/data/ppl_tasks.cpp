#include "harness/data/ppl_tasks.h"

#include "harness/data/c4_windows.h"
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/io/npy.h"
#include "harness/io/sha256.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::eval {

namespace {

constexpr int64_t kC4EvalWindows = 256;  // GPTQ/OmniQuant: 256 windows, random.seed(0)
constexpr int64_t kC4NewDocs = 1100;     // c4_new: the first 1100 documents of the validation shard

const std::vector<std::string> kWikiTestNames = {"wiki.test.raw"};
const std::vector<std::string> kC4ValNames = {"c4-validation.00000-of-00008.json.gz", "c4-validation.00000-of-00008.json"};

at::Tensor to_tensor(const std::vector<int32_t>& ids) {
  at::Tensor t = at::empty({static_cast<int64_t>(ids.size())}, at::kLong);
  auto* p = t.data_ptr<int64_t>();
  for (size_t i = 0; i < ids.size(); ++i) p[i] = ids[i];
  return t;
}

std::string stream_sha256(const at::Tensor& ids) {
  const at::Tensor v = ids.to(at::kInt).contiguous();
  return io::sha256_hex(std::string_view(static_cast<const char*>(v.data_ptr()), v.numel() * sizeof(int32_t)));
}

const Tokenizer& need_tokenizer(const Tokenizer* t, const std::string& task) {
  if (t == nullptr)
    throw InputError(fmt::format("task {} needs a tokenizer: put tokenizer.model or tokenizer.json in the model directory or pass --tokenizer", task));
  return *t;
}

}  // namespace

const std::vector<PplTaskInfo>& ppl_tasks() {
  static const std::vector<PplTaskInfo> tasks = {
      {"wikitext2", "WikiText-2 raw test split (wiki.test.raw), GPTQ/OmniQuant protocol", true},
      {"c4", "C4 validation shard 0, 256 random windows, random.seed(0) (GPTQ/OmniQuant 'c4')", true},
      {"c4_new", "C4 validation shard 0, first 1100 documents joined by ' ' (GPTQ --new-eval)", true},
      {"text", "any UTF-8 text file, tokenized once as tokenizer(text)", true},
      {"jsonl", "JSON lines (--data PATH or PATH#FIELD, default field \"text\"), documents joined by \"\\n\\n\", tokenized once", true},
      {"tokens", "a NumPy .npy file of token ids, evaluated as given", false},
  };
  return tasks;
}

const PplTaskInfo& find_ppl_task(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& t : ppl_tasks()) {
    if (t.name == name) return t;
    names.push_back(t.name);
  }
  const std::string hint = closest_match(name, names);
  throw InputError(fmt::format("unknown task '{}'{} (expected one of: {})", name,
                               hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint), join(names, ", ")));
}

std::vector<int32_t> hf_slow_encode(const Tokenizer& tokenizer, const std::string& text,
                                    std::vector<std::string>* notices, const std::string& source) {
  if (notices != nullptr && !tokenizer.matches_special_strings()) {
    size_t specials = 0;
    for (const char* s : {"<s>", "</s>", "<unk>"})
      for (size_t p = text.find(s); p != std::string::npos; p = text.find(s, p + 1)) ++specials;
    if (specials > 0)
      notices->push_back(fmt::format("{} contains {} literal special-token string(s) (<s>, </s>, <unk>); they are "
                                     "tokenized as plain text, where HF's slow tokenizer would emit special ids",
                                     source, specials));
  }
  return tokenizer.encode_input(text);
}

std::string resolve_ppl_data_file(const std::string& task, const std::string& data_path) {
  find_ppl_task(task);
  if (task == "wikitext2") return resolve_data_file(data_path, kWikiTestNames, "WikiText-2 test file");
  if (task == "c4" || task == "c4_new") return resolve_data_file(data_path, kC4ValNames, "C4 validation shard");
  if (task == "jsonl") return parse_jsonl_source(data_path).path;
  io::require_file(data_path, fmt::format("data file for task {}", task));
  return data_path;
}

EvalStream load_eval_stream(const std::string& task, const std::string& data_path, const Tokenizer* tokenizer,
                            int64_t seqlen, const TokenCache& cache) {
  find_ppl_task(task);  // validates the name before any file is touched
  EvalStream out;
  const std::string file = resolve_ppl_data_file(task, data_path);

  const std::string data_sha = io::sha256_file(file);
  out.provenance = {{"data_file", file}, {"data_sha256", data_sha}};
  if (task == "tokens") {
    out.protocol = "tokens";
    out.ids = io::read_npy_ids(file);
  } else {
    const Tokenizer& tok = need_tokenizer(tokenizer, task);
    out.provenance["tokenizer_sha256"] = tok.sha256();
    out.provenance["tokenizer_input"] = tok.added_tokens_description();  // e.g. "bos+text" (Llama) or "text" (Qwen)
    nlohmann::json key = {{"task", task}, {"data_sha256", data_sha}, {"tokenizer_sha256", tok.sha256()}};
    std::function<at::Tensor()> compute;
    if (task == "wikitext2") {
      out.protocol = "gptq_wikitext2";
      compute = [&] { return to_tensor(hf_slow_encode(tok, wikitext_join(read_text_file(file)), &out.notices, file)); };
    } else if (task == "c4") {
      out.protocol = "gptq_c4";
      key["seqlen"] = seqlen;  // which documents qualify depends on seqlen
      compute = [&] {
        const auto docs = read_c4_texts(file);
        const auto windows = sample_doc_windows(
            docs, [&](const std::string& t) { return tok.encode_input(t); }, kC4EvalWindows, seqlen, 0);
        std::vector<int32_t> all;
        for (const auto& w : windows) all.insert(all.end(), w.ids.begin(), w.ids.end());
        return to_tensor(all);
      };
    } else if (task == "c4_new") {
      out.protocol = "gptq_c4_new";
      key["seqlen"] = seqlen;
      compute = [&] {
        const auto docs = read_c4_texts(file, kC4NewDocs);
        std::vector<std::string> head(docs.begin(), docs.end());
        auto ids = hf_slow_encode(tok, join(head, " "), &out.notices, file);
        if (static_cast<int64_t>(ids.size()) > kC4EvalWindows * seqlen) ids.resize(kC4EvalWindows * seqlen);
        return to_tensor(ids);
      };
    } else if (task == "jsonl") {
      out.protocol = "jsonl";
      const JsonlSource source = parse_jsonl_source(data_path);
      key["field"] = source.field;
      out.provenance["field"] = source.field;
      compute = [&, source] { return to_tensor(hf_slow_encode(tok, join(read_jsonl_texts(source), "\n\n"), &out.notices, file)); };
    } else {  // text
      out.protocol = "text";
      compute = [&] { return to_tensor(hf_slow_encode(tok, read_text_file(file), &out.notices, file)); };
    }
    out.ids = cache.get_or_compute(key, compute, &out.from_cache);
  }
  out.provenance["stream_sha256"] = stream_sha256(out.ids);
  out.provenance["stream_tokens"] = out.ids.numel();
  return out;
}

}  // namespace ptq::eval
