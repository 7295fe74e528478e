#include "harness/tiny/make_tiny.h"

#include "evaluators/perplexity/perplexity.h"
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/io/sha256.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "harness/tiny/corpus.h"
#include "harness/tiny/outliers.h"
#include "harness/tiny/task_files.h"
#include "harness/tiny/train_lm.h"
#include "harness/util/errors.h"
#include "harness/util/runtime.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ptq::tiny {

namespace {

struct Scale {
  size_t train_chars, eval_chars, c4_val_docs, c4_train_docs;
  int task_examples, vocab;
  int64_t hidden, intermediate, layers, seqlen, batch;
  WorldSize world;
};

// Hidden and intermediate sizes are multiples of 128 in the full model, so that group-wise settings
// (W4A16g128) apply to every linear as they do on real models.
const Scale kFull = {4'000'000, 150'000, 1200, 600, 1000, 2048, 256, 768, 4, 512, 8, {320, 64}};
// Heavy-tailed weights (tiny/outliers.h): how many channels, chosen by the measurements in docs/tiny-llama.md.
constexpr int kHeavyHiddenChannels = 4, kHeavyIntermediateChannels = 4;
constexpr int kHeavyMinLog2 = 3, kHeavyMaxLog2 = 4;
const Scale kSmall = {150'000, 20'000, 40, 40, 20, 400, 64, 128, 2, 64, 4, {40, 12}};

// Deterministic gzip (zlib writes mtime 0 in the header).
void write_gzip(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  gzFile f = gzopen(tmp.c_str(), "wb9");
  if (f == nullptr) throw std::runtime_error("cannot write " + tmp);
  if (gzwrite(f, text.data(), static_cast<unsigned>(text.size())) != static_cast<int>(text.size())) {
    gzclose(f);
    throw std::runtime_error("cannot write " + tmp);
  }
  gzclose(f);
  fs::rename(tmp, path);
}

std::string c4_shard(const std::vector<std::string>& docs, const std::string& split) {
  std::string out;
  for (size_t i = 0; i < docs.size(); ++i)
    out += nlohmann::json{{"text", docs[i]}, {"timestamp", "2019-04-25T12:57:54Z"},
                          {"url", fmt::format("https://tiny.example/{}/{}", split, i)}}.dump() + "\n";
  return out;
}

std::vector<int32_t> tokenize_wikitext(const Tokenizer& tok, const std::string& path) {
  return tok.encode_input(eval::wikitext_join(io::read_file(path)));
}

at::Tensor to_tensor(const std::vector<int32_t>& ids) {
  return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
}

// The model as stored (fp16), back in fp32: what `eval` of the written checkpoint will see.
LlamaModel stored_copy(LlamaModel& m) {
  LlamaModel copy = m;
  for (auto& [name, t] : copy.named_tensors()) *t = t->to(at::kHalf).to(at::kFloat);
  if (copy.config().tie_word_embeddings) copy.lm_head = copy.embed_tokens;
  return copy;
}

double test_ppl(const LlamaModel& m, const at::Tensor& ids, int64_t seqlen) {
  eval::PplOptions o;
  o.seqlen = seqlen;
  o.progress = false;
  return eval::evaluate_perplexity(m, ids, o).ppl;
}

// max / median over channels of the mean |activation| at the input of each layer's q_proj.
double outlier_ratio(const LlamaModel& m, const at::Tensor& ids, int64_t seqlen, int64_t layer) {
  c10::InferenceMode guard;
  const at::Tensor seg = ids.narrow(0, 0, std::min<int64_t>(ids.numel(), seqlen)).unsqueeze(0);
  const RopeTables rope = m.rope(seg.size(1));
  at::Tensor h = m.embed(seg);
  for (int64_t i = 0; i < layer; ++i) h = m.block_forward(static_cast<size_t>(i), h, rope);
  const at::Tensor x = rms_norm(h, m.block(static_cast<size_t>(layer)).input_layernorm, m.config().rms_norm_eps);
  const at::Tensor per_channel = x.abs().mean(std::vector<int64_t>{0, 1});
  return per_channel.max().item<double>() / per_channel.median().item<double>();
}

// The mean over every linear's rows of max |w| / rms(w): about 3.5 for Gaussian rows of 256, larger for
// heavy-tailed ones (what a per-row min/max quantizer's step is proportional to).
double weight_row_max_over_rms(LlamaModel& m) {
  double sum = 0;
  int64_t rows = 0;
  for (auto& [name, t] : m.named_tensors()) {
    if (name.find("_proj.weight") == std::string::npos) continue;
    const at::Tensor w = t->to(at::kDouble);
    const at::Tensor ratio = std::get<0>(w.abs().max(1)) / w.pow(2).mean(1).sqrt();
    sum += ratio.sum().item<double>();
    rows += w.size(0);
  }
  return sum / static_cast<double>(rows);
}

// Trains `model`, or loads weights trained before from `cache_dir` (a directory written by the same
// options; make-tiny --trained-cache: iterate on everything after training without repeating it).
TrainReport trained(LlamaModel& model, const at::Tensor& ids, const TrainConfig& tc, const std::string& cache_dir) {
  const fs::path report_file = fs::path(cache_dir) / "train_report.json";
  if (!cache_dir.empty() && fs::exists(report_file)) {
    fmt::print(stderr, "make-tiny: trained weights from {}\n", cache_dir);
    model = load_llama(cache_dir);
    const auto j = nlohmann::json::parse(io::read_file(report_file.string()));
    TrainReport r;
    r.losses = j.at("losses").get<std::vector<double>>();
    r.seconds = j.at("seconds").get<double>();
    return r;
  }
  fmt::print(stderr, "make-tiny: training {} steps of {} x {} tokens\n", tc.steps, tc.batch, tc.seqlen);
  TrainReport r = train_lm(model, ids, tc);
  if (!cache_dir.empty()) {
    save_llama(model, cache_dir, at::kFloat, {{"source", "ptqbench make-tiny (trained, before the outlier transforms)"}});
    io::write_file_atomic(report_file.string(), nlohmann::json{{"losses", r.losses}, {"seconds", r.seconds}}.dump() + "\n");
  }
  return r;
}

nlohmann::json manifest_of(const fs::path& root, const std::vector<fs::path>& dirs) {
  std::vector<std::string> files;
  for (const auto& d : dirs)
    for (const auto& e : fs::recursive_directory_iterator(d))
      if (e.is_regular_file()) files.push_back(fs::relative(e.path(), root).string());
  std::sort(files.begin(), files.end());
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : files) out[f] = io::sha256_file((root / f).string());
  return out;
}

}  // namespace

double unigram_perplexity(const std::vector<int32_t>& train, const std::vector<int32_t>& test, int vocab) {
  std::vector<double> counts(static_cast<size_t>(vocab), 1.0);  // add-one smoothing
  for (const auto id : train) counts[static_cast<size_t>(id)] += 1;
  double total = 0;
  for (const double c : counts) total += c;
  double nll = 0;
  for (size_t i = 1; i < test.size(); ++i) nll -= std::log(counts[static_cast<size_t>(test[i])] / total);  // BOS not predicted
  return std::exp(nll / static_cast<double>(test.size() - 1));
}

namespace {

// 1. Text: a world, three WikiText-layout splits and two C4-style shards, each from its own seed.
void write_text_data(const fs::path& data, const Scale& sc, uint64_t s) {
  fmt::print(stderr, "make-tiny: corpus\n");
  const World world = build_world(s + 10, sc.world);
  io::write_file_atomic((data / "wikitext2" / "wiki.train.raw").string(), generate_wikitext(world, s + 1, sc.train_chars));
  io::write_file_atomic((data / "wikitext2" / "wiki.valid.raw").string(), generate_wikitext(world, s + 2, sc.eval_chars));
  io::write_file_atomic((data / "wikitext2" / "wiki.test.raw").string(), generate_wikitext(world, s + 3, sc.eval_chars));
  write_gzip((data / "c4" / "c4-validation.00000-of-00008.json.gz").string(),
             c4_shard(generate_web_documents(world, s + 4, sc.c4_val_docs), "validation"));
  write_gzip((data / "c4" / "c4-train.00000-of-01024.json.gz").string(),
             c4_shard(generate_web_documents(world, s + 5, sc.c4_train_docs), "train"));
  write_task_files(world, data.string(), s + 6, sc.task_examples);
}

// 2. Tokenizer: sentencepiece BPE with Llama's settings (byte fallback, no whitespace normalisation; no
//    whitespace-only pieces, so a separately encoded " word" is ['▁', '▁word'] as with Llama).
Tokenizer train_tokenizer(const fs::path& data, const fs::path& model_dir, const Scale& sc) {
  // Run in the data directory with relative paths: the trainer records them in the model file.
  Tokenizer::train({"--input=wikitext2/wiki.train.raw", "--model_prefix=tokenizer",
                    fmt::format("--vocab_size={}", sc.vocab), "--model_type=bpe", "--byte_fallback=true",
                    "--character_coverage=1.0", "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1",
                    "--normalization_rule_name=identity", "--remove_extra_whitespaces=false", "--split_digits=true",
                    "--num_threads=1", "--max_sentence_length=100000"},
                   data.string());
  fs::rename(data / "tokenizer.model", model_dir / "tokenizer.model");
  fs::remove(data / "tokenizer.vocab");
  return Tokenizer::load((model_dir / "tokenizer.model").string());
}

// 3. The model: a Llama with GQA, trained from scratch.
LlamaConfig tiny_llama_config(const Scale& sc, const Tokenizer& tok) {
  LlamaConfig c;
  c.hidden_size = sc.hidden;
  c.intermediate_size = sc.intermediate;
  c.num_hidden_layers = sc.layers;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = sc.hidden / 4;
  c.vocab_size = tok.vocab_size();
  c.max_position_embeddings = sc.seqlen;
  c.rms_norm_eps = 1e-5;
  c.bos_token_id = tok.bos_id();
  c.eos_token_ids = {tok.eos_id()};
  c.torch_dtype = "float16";
  c.validate("make-tiny");
  return c;
}

}  // namespace

nlohmann::json make_tiny(const MakeTinyOptions& o) {
  const Scale& sc = o.small ? kSmall : kFull;
  const fs::path out(o.out_dir);
  const fs::path data = out / "data" / "tiny", model_dir = out / "models" / "tiny-llama";
  std::error_code ec;
  fs::remove_all(data, ec);
  fs::remove_all(model_dir, ec);
  fs::create_directories(data / "wikitext2");
  fs::create_directories(data / "c4");
  fs::create_directories(model_dir);
  const uint64_t s = o.seed * 1000;

  write_text_data(data, sc, s);
  fmt::print(stderr, "make-tiny: tokenizer\n");
  const Tokenizer tok = train_tokenizer(data, model_dir, sc);
  const auto train_ids = tokenize_wikitext(tok, (data / "wikitext2" / "wiki.train.raw").string());
  const auto test_ids = tokenize_wikitext(tok, (data / "wikitext2" / "wiki.test.raw").string());

  const LlamaConfig c = tiny_llama_config(sc, tok);
  TrainConfig tc;
  tc.steps = o.steps;
  tc.batch = sc.batch;
  tc.seqlen = sc.seqlen;
  tc.seed = s + 8;
  LlamaModel model = init_llama(c, s + 7);
  const TrainReport tr = trained(model, to_tensor(train_ids), tc, o.trained_cache);

  // 4. Outliers by an exact transform; the function must not change.
  const at::Tensor test = to_tensor(test_ids);
  const double ppl_before = test_ppl(stored_copy(model), test, sc.seqlen);
  const double ratio_before = outlier_ratio(stored_copy(model), test, sc.seqlen, 0);
  OutlierSpec os;
  os.seed = s + 9;
  os.weight_hidden_channels = o.small ? 2 : kHeavyHiddenChannels;
  os.weight_intermediate_channels = o.small ? 2 : kHeavyIntermediateChannels;
  os.weight_min_log2 = kHeavyMinLog2;
  os.weight_max_log2 = kHeavyMaxLog2;
  if (o.transforms != "all") os.weight_hidden_channels = os.weight_intermediate_channels = 0;
  if (o.transforms == "none") os.hidden_channels = os.intermediate_channels = 0;
  const double heavy_before = weight_row_max_over_rms(model);
  const nlohmann::json outliers = inject_outliers(model, os);
  LlamaModel stored = stored_copy(model);
  const double ppl_after = test_ppl(stored, test, sc.seqlen);
  double ratio_min = 1e300;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) ratio_min = std::min(ratio_min, outlier_ratio(stored, test, sc.seqlen, l));
  save_llama(model, model_dir.string(), at::kHalf, {{"source", "ptqbench make-tiny"}});

  nlohmann::json report = {
      {"seed", o.seed}, {"scale", o.small ? "small" : "full"}, {"transforms", o.transforms},
      {"config", c.to_json()}, {"parameters", c.parameter_count()},
      {"train", {{"steps", tc.steps}, {"batch", tc.batch}, {"seqlen", tc.seqlen}, {"lr", tc.lr},
                 {"tokens_per_step", tc.batch * tc.seqlen}, {"train_tokens", train_ids.size()},
                 {"first_loss", tr.losses.front()}, {"last_loss", tr.losses.back()}}},
      {"test_tokens", test_ids.size()},
      {"test_ppl_before_outliers", ppl_before}, {"test_ppl", ppl_after},
      {"test_ppl_rel_change_by_outliers", std::abs(ppl_after - ppl_before) / ppl_before},
      {"unigram_test_ppl", unigram_perplexity(train_ids, test_ids, tok.vocab_size())},
      {"q_proj_input_max_over_median_before", ratio_before}, {"q_proj_input_max_over_median_min_over_layers", ratio_min},
      {"weight_row_max_over_rms_before", heavy_before}, {"weight_row_max_over_rms", weight_row_max_over_rms(model)},
      {"outliers", outliers}};
  io::write_file_atomic((model_dir / "make_tiny.json").string(), report.dump(2) + "\n");
  const nlohmann::json manifest = {{"command", o.command}, {"harness_version", harness_version()},
                                   {"note", "regenerate with the command; the same machine gives the same hashes"},
                                   {"files", manifest_of(out, {data, model_dir})}};
  io::write_file_atomic((out / "tiny_manifest.json").string(), manifest.dump(2) + "\n");
  fmt::print(stderr, "make-tiny: done in {:.0f} s of training\n", tr.seconds);
  return report;
}

}  // namespace ptq::tiny
