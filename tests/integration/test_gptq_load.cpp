// Loading packed GPTQ checkpoints (harness/ptq/gptq_checkpoint.h): checkpoints built here with the tests'
// own packer (tests/support/naive_gptq.h, AutoGPTQ's pack loop) from known integers, scales and zero
// points load as their naive de-quantization bit for bit, resident and streamed, through `eval` and `info`;
// bad checkpoints are refused with exit 2 and one line.
#include "harness/io/npy.h"
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "harness/pipeline/quantize.h"
#include "harness/ptq/gptq_checkpoint.h"
#include "harness/util/text.h"
#include "tests/support/cli_runner.h"
#include "tests/support/naive_gptq.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <random>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

struct PackSpec {
  int bits = 4;
  int64_t group_size = 16;
  std::string format = "gptq";
  bool act_order = false;
  std::vector<std::string> keep;  // linears left as float `.weight`
  int64_t zero_lo = -1, zero_hi = -1;  // the zero points' range (default: all a format can store)
};

using Tensors = std::map<std::string, at::Tensor>;

// A packed checkpoint of the tiny random model: each linear's integers, zero points, float16 scales and
// g_idx drawn here, packed with the naive packer; `weights` holds what loading must give, computed naively.
struct PackedModel {
  ptq::LlamaConfig config = ptq::test::tiny_config();
  Tensors tensors;             // as written
  nlohmann::json config_json;  // as written
  Tensors weights;             // "<linear>.weight" -> the expected de-quantized [out, in] float32
};

void pack_linear(PackedModel& m, const std::string& linear, int64_t out, int64_t in, const PackSpec& s, std::mt19937& rng) {
  const int64_t groups = s.group_size > 0 ? in / s.group_size : 1, maxq = (int64_t{1} << s.bits) - 1;
  std::vector<int32_t> g_idx(static_cast<size_t>(in));
  for (int64_t i = 0; i < in; ++i) g_idx[static_cast<size_t>(i)] = static_cast<int32_t>(i / (in / groups));
  if (s.act_order) std::shuffle(g_idx.begin(), g_idx.end(), rng);  // each group keeps its size, columns permuted
  std::uniform_int_distribution<int64_t> qd(0, maxq);
  // v1 stores zero - 1 (AutoGPTQ's offset): zero in [1, maxq + 1] keeps the stored value in [0, maxq].
  std::uniform_int_distribution<int64_t> zd(s.zero_lo >= 0 ? s.zero_lo : s.format == "gptq" ? 1 : 0,
                                            s.zero_hi >= 0 ? s.zero_hi : s.format == "gptq" ? maxq + 1 : maxq);
  std::uniform_real_distribution<float> sd(1e-3f, 5e-2f);
  std::vector<uint32_t> q_t(static_cast<size_t>(in * out)), stored_zero(static_cast<size_t>(groups * out));
  std::vector<int64_t> zero(stored_zero.size());
  const at::Tensor scales = at::empty({groups, out}, at::kFloat);
  for (auto& v : q_t) v = static_cast<uint32_t>(qd(rng));
  for (size_t k = 0; k < zero.size(); ++k) {
    zero[k] = zd(rng);
    stored_zero[k] = static_cast<uint32_t>(zero[k] - (s.format == "gptq" ? 1 : 0));
  }
  for (int64_t k = 0; k < groups * out; ++k) scales.view(-1)[k] = sd(rng);
  const at::Tensor scales_h = scales.to(at::kHalf);
  const at::Tensor w = at::empty({out, in}, at::kFloat);
  auto wa = w.accessor<float, 2>();
  const at::Tensor sf = scales_h.to(at::kFloat);
  auto sa = sf.accessor<float, 2>();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const int64_t g = g_idx[static_cast<size_t>(i)];
      const float qv = static_cast<float>(q_t[static_cast<size_t>(i * out + o)]);
      wa[o][i] = sa[g][o] * (qv - static_cast<float>(zero[static_cast<size_t>(g * out + o)]));
    }
  m.weights[linear + ".weight"] = w;
  const auto qweight = ptq::test::naive_gptq::pack_rows(q_t, in, out, s.bits);
  const auto qzeros = ptq::test::naive_gptq::pack_cols(stored_zero, groups, out, s.bits);
  m.tensors[linear + ".qweight"] = at::tensor(qweight, at::kInt).view({in * s.bits / 32, out});
  m.tensors[linear + ".qzeros"] = at::tensor(qzeros, at::kInt).view({groups, out * s.bits / 32});
  m.tensors[linear + ".scales"] = scales_h;
  m.tensors[linear + ".g_idx"] = at::tensor(g_idx, at::kInt);
}

PackedModel packed_model(const PackSpec& s, uint32_t seed) {
  PackedModel m;
  ptq::LlamaModel fp = ptq::test::random_model(m.config, seed);
  std::mt19937 rng(seed);
  for (auto& [name, t] : fp.named_tensors()) {
    const std::string linear = name.substr(0, name.size() - 7);
    if (!ptq::ends_with(name, "_proj.weight") || std::count(s.keep.begin(), s.keep.end(), linear)) {
      m.tensors[name] = t->clone();
      if (ptq::ends_with(name, "_proj.weight")) m.weights[name] = t->clone();
      continue;
    }
    pack_linear(m, linear, t->size(0), t->size(1), s, rng);
  }
  m.config_json = m.config.to_json();
  m.config_json["quantization_config"] = {{"quant_method", "gptq"},  {"bits", s.bits},     {"group_size", s.group_size},
                                          {"desc_act", s.act_order}, {"sym", false},       {"checkpoint_format", s.format},
                                          {"modules_to_not_convert", s.keep}};
  return m;
}

void write(const PackedModel& m, const std::string& dir) {
  fs::create_directories(dir);
  std::vector<std::pair<std::string, at::Tensor>> list(m.tensors.begin(), m.tensors.end());
  ptq::io::write_safetensors(dir + "/model.safetensors", list);
  ptq::test::write_text(dir + "/config.json", m.config_json.dump(2));
}

// The same model as a plain float32 checkpoint whose linears hold the expected de-quantized weights.
void write_dequantized(const PackedModel& m, const std::string& dir) {
  std::vector<std::pair<std::string, at::Tensor>> list;
  for (const auto& [name, t] : m.tensors)
    if (ptq::ends_with(name, "norm.weight") || name == "model.embed_tokens.weight" || name == "lm_head.weight")
      list.emplace_back(name, t);
  for (const auto& [name, w] : m.weights) list.emplace_back(name, w);
  fs::create_directories(dir);
  ptq::io::write_safetensors(dir + "/model.safetensors", list);
  nlohmann::json c = m.config_json;
  c.erase("quantization_config");
  ptq::test::write_text(dir + "/config.json", c.dump(2));
}

void check_weights(ptq::LlamaModel& model, const PackedModel& m) {
  for (size_t b = 0; b < model.num_blocks(); ++b) {
    ptq::DecoderBlock block = model.block(b);
    const auto linears = block.linears();
    for (size_t k = 0; k < linears.size(); ++k) {
      const std::string name = fmt::format("model.layers.{}.{}.weight", b, ptq::DecoderBlock::kLinearNames[k]);
      INFO(name);
      REQUIRE(linears[k]->weight.scalar_type() == at::kFloat);
      CHECK(at::equal(linears[k]->weight, m.weights.at(name)));
    }
  }
}

bool one_line_error(const ptq::test::CliResult& r) {
  return r.exit_code == 2 && r.err.rfind("ptqbench: error: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

const PackSpec kSpecs[] = {
    {4, 16, "gptq", false, {}},      {3, 32, "gptq_v2", false, {}}, {2, -1, "gptq", false, {}},
    {8, 16, "gptq_v2", true, {}},    {4, 32, "gptq", true, {}},
    {4, 16, "gptq_v2", false, {"model.layers.1.mlp.down_proj", "model.layers.0.self_attn.k_proj"}}};

}  // namespace

TEST_CASE("packed GPTQ checkpoints load as their naive de-quantization bit for bit", "[integration][gptq_load]") {
  TempDir dir;
  uint32_t seed = 5;
  for (const PackSpec& s : kSpecs) {
    INFO("bits " << s.bits << ", group " << s.group_size << ", " << s.format << (s.act_order ? ", act-order" : "")
                 << ", kept " << s.keep.size());
    const PackedModel m = packed_model(s, ++seed);
    const std::string path = dir.file(fmt::format("m{}", seed));
    write(m, path);
    auto resident = ptq::pipeline::load_model(path, at::kFloat, at::kCPU, "off", "");
    check_weights(resident.model, m);
    CHECK(at::equal(resident.model.embed_tokens, m.tensors.at("model.embed_tokens.weight")));
    auto streamed = ptq::pipeline::load_model(path, at::kFloat, at::kCPU, "on", "");
    REQUIRE(streamed.model.streamed());
    check_weights(streamed.model, m);
  }
}

TEST_CASE("packed GPTQ: the zero-point conventions of gptq and gptq_v2 give the same weights", "[integration][gptq_load]") {
  // The same integers and zero points (drawn in [1, 15], which both conventions store), once stored with
  // AutoGPTQ's v1 offset (zero - 1) and once as they are.
  TempDir dir;
  PackSpec s{4, 16, "gptq", false, {}, 1, 15};
  const PackedModel v1 = packed_model(s, 11);
  s.format = "gptq_v2";
  const PackedModel v2 = packed_model(s, 11);
  const std::string z = "model.layers.0.self_attn.q_proj.qzeros";
  CHECK_FALSE(at::equal(v1.tensors.at(z), v2.tensors.at(z)));
  CHECK(at::equal(v1.tensors.at("model.layers.0.self_attn.q_proj.qweight"), v2.tensors.at("model.layers.0.self_attn.q_proj.qweight")));
  write(v1, dir.file("v1"));
  write(v2, dir.file("v2"));
  auto a = ptq::pipeline::load_model(dir.file("v1"), at::kFloat, at::kCPU, "off", "");
  auto b = ptq::pipeline::load_model(dir.file("v2"), at::kFloat, at::kCPU, "off", "");
  check_weights(a.model, v1);
  check_weights(b.model, v1);
  // Read with the other convention, every weight moves by exactly one step (scale * 1) somewhere.
  PackedModel wrong = v1;
  wrong.config_json["quantization_config"]["checkpoint_format"] = "gptq_v2";
  write(wrong, dir.file("wrong"));
  auto c = ptq::pipeline::load_model(dir.file("wrong"), at::kFloat, at::kCPU, "off", "");
  const at::Tensor w = c.model.block(0).q_proj.weight, want = v1.weights.at("model.layers.0.self_attn.q_proj.weight");
  const at::Tensor scale = v1.tensors.at("model.layers.0.self_attn.q_proj.scales").to(at::kFloat);  // natural g_idx
  CHECK(at::equal(w - want, scale.repeat_interleave(16, 0).t()));
}

TEST_CASE("eval of a packed GPTQ checkpoint equals eval of its de-quantized float checkpoint", "[integration][gptq_load]") {
  TempDir dir;
  const PackedModel m = packed_model({3, 32, "gptq", true, {"model.layers.0.mlp.up_proj"}}, 21);
  write(m, dir.file("packed"));
  write_dequantized(m, dir.file("float"));
  ptq::test::write_token_ids(dir.file("ids.npy"), 4 * 32, 17, 3);
  const auto ppl = [&](const std::string& model, const std::string& stream) {
    const auto r = run_ptqbench({"eval", "--model", model, "--task", "tokens", "--data", dir.file("ids.npy"), "--seqlen",
                                 "32", "--stream", stream, "--json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out)["results"]["tokens"]["ppl"].get<double>();
  };
  const double want = ppl(dir.file("float"), "off");
  CHECK(ppl(dir.file("packed"), "off") == want);
  CHECK(ppl(dir.file("packed"), "on") == want);
}

TEST_CASE("info on a packed GPTQ checkpoint: its quantization_config and bytes on disk", "[integration][gptq_load]") {
  TempDir dir;
  const PackSpec s{4, 16, "gptq", false, {"model.layers.1.mlp.down_proj"}};
  const PackedModel m = packed_model(s, 31);
  write(m, dir.file("packed"));
  // Independently: per packed linear [out, in], qweight in/8 x out + qzeros G x out/8 int32, scales G x out
  // float16, g_idx in int32.
  int64_t bytes = 0, weights = 0, packed = 0;
  for (const auto& [name, shape] : ptq::expected_tensors(m.config)) {
    if (!ptq::ends_with(name, "_proj.weight") || name == "model.layers.1.mlp.down_proj.weight") continue;
    const int64_t out = shape[0], in = shape[1], groups = in / 16;
    bytes += in / 8 * out * 4 + groups * out / 8 * 4 + groups * out * 2 + in * 4;
    weights += out * in;
    ++packed;
  }
  const auto j = run_ptqbench({"info", dir.file("packed"), "--json"});
  INFO(j.err);
  REQUIRE(j.exit_code == 0);
  const auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["check"]["ok"] == true);
  CHECK(doc["gptq"]["quantization_config"]["bits"] == 4);
  CHECK(doc["gptq"]["quantization_config"]["group_size"] == 16);
  CHECK(doc["gptq"]["quantization_config"]["checkpoint_format"] == "gptq");
  CHECK(doc["gptq"]["quantization_config"]["modules_to_not_convert"] == nlohmann::json{"model.layers.1.mlp.down_proj"});
  const auto& b = doc["gptq"]["bytes"];
  CHECK(b["quantized_linear_bytes"] == bytes);
  CHECK(b["quantized_linear_fp16_bytes"] == weights * 2);
  CHECK(b["linears_packed"] == packed);
  CHECK(b["linears_kept_in_floating_point"] == 1);
  CHECK(b["bits_per_weight"].get<double>() == Approx(8.0 * double(bytes) / double(weights)).epsilon(1e-12));
  CHECK(b["percent_of_fp16"].get<double>() == Approx(100.0 * double(bytes) / double(weights * 2)).epsilon(1e-12));
  CHECK(b["file_bytes"] == fs::file_size(dir.file("packed/model.safetensors")));
  const auto t = run_ptqbench({"info", dir.file("packed")});
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  CHECK_THAT(t.out, Contains("gptq         4 bits, group size 16, checkpoint_format gptq (zero points stored minus 1), "
                             "sym false, desc_act false; kept in floating point: model.layers.1.mlp.down_proj"));
  CHECK_THAT(t.out, Contains(fmt::format("{:.3f} bits per weight", 8.0 * double(bytes) / double(weights))));
  CHECK_THAT(t.out, Contains("check        OK"));
}

TEST_CASE("bad packed GPTQ checkpoints are refused with one line", "[integration][gptq_load]") {
  TempDir dir;
  std::vector<int64_t> ids(64, 5);
  ptq::io::write_npy_ids(dir.file("ids.npy"), at::tensor(ids, at::kLong));
  const std::string q = "model.layers.0.self_attn.q_proj";
  struct Case {
    const char* what;
    std::function<void(PackedModel&)> spoil;
    std::vector<std::string> expect;  // substrings of the one line
  };
  const std::vector<Case> cases = {
      {"awq", [](PackedModel& m) { m.config_json["quantization_config"]["quant_method"] = "awq"; },
       {"config.json: quantization_config.quant_method is \"awq\"", "packed GPTQ ones (quant_method \"gptq\")"}},
      {"bits 5", [](PackedModel& m) { m.config_json["quantization_config"]["bits"] = 5; },
       {"quantization_config.bits is 5, expected 2, 3, 4 or 8"}},
      {"format", [](PackedModel& m) { m.config_json["quantization_config"]["checkpoint_format"] = "marlin"; },
       {"quantization_config.checkpoint_format is \"marlin\", expected \"gptq\" or \"gptq_v2\""}},
      {"group 48", [](PackedModel& m) { m.config_json["quantization_config"]["group_size"] = 48; },
       {"group_size 48 does not divide in_features 64"}},
      {"kept unknown", [](PackedModel& m) { m.config_json["quantization_config"]["modules_to_not_convert"] = {"model.layers.0.mlp.gate"}; },
       {"modules_to_not_convert names 'model.layers.0.mlp.gate', which is no linear of this model"}},
      {"dtype", [&](PackedModel& m) { m.tensors[q + ".qweight"] = m.tensors[q + ".qweight"].to(at::kFloat); },
       {"model.safetensors: tensor '" + q + ".qweight' has dtype F32, expected I32"}},
      {"scales I32", [&](PackedModel& m) { m.tensors[q + ".scales"] = m.tensors[q + ".scales"].to(at::kInt); },
       {"tensor '" + q + ".scales' has dtype I32, expected F16 (or F32, BF16)"}},
      {"shape", [&](PackedModel& m) { m.tensors[q + ".scales"] = m.tensors[q + ".scales"].narrow(0, 0, 2).contiguous(); },
       {"tensor '" + q + ".scales' has shape [2, 64], expected [4, 64] for a [64, 64] linear at 4 bits with 4 group(s)"}},
      {"missing", [&](PackedModel& m) { m.tensors.erase(q + ".g_idx"); }, {"tensor '" + q + ".g_idx' is missing"}},
      {"float and packed", [&](PackedModel& m) { m.tensors[q + ".weight"] = at::zeros({64, 64}); },
       {"tensor '" + q + ".weight' is a floating-point weight, but '" + q + "' is not in quantization_config.modules_to_not_convert"}},
      {"g_idx range", [&](PackedModel& m) { m.tensors[q + ".g_idx"][7] = 4; },
       {"tensor '" + q + ".g_idx' has 4 at [7], expected a group in [0, 4)"}},
      {"g_idx order", [&](PackedModel& m) { m.tensors[q + ".g_idx"][7] = 3; },
       {"tensor '" + q + ".g_idx' has 3 at [7], expected 0 (i / group_size): quantization_config.desc_act is false"}},
      {"scale 0", [&](PackedModel& m) { m.tensors[q + ".scales"][1][2] = 0; },
       {"tensor '" + q + ".scales' has 1 of 256 values that are not finite and non-zero (first: 0 at [1, 2])"}},
      {"scale nan", [&](PackedModel& m) { m.tensors[q + ".scales"][0][5] = std::nan(""); },
       {"tensor '" + q + ".scales' has 1 of 256 values that are not finite and non-zero (first: nan at [0, 5])"}},
  };
  int n = 0;
  for (const auto& c : cases) {
    INFO(c.what);
    PackedModel m = packed_model({4, 16, "gptq", false, {}}, 41);
    c.spoil(m);
    const std::string path = dir.file(fmt::format("bad{}", ++n));
    write(m, path);
    // eval reads the values; the header checks fail before anything is loaded, in info as well.
    const auto r = run_ptqbench({"eval", "--model", path, "--task", "tokens", "--data", dir.file("ids.npy"), "--seqlen", "32"});
    INFO(r.err);
    CHECK(one_line_error(r));
    for (const auto& e : c.expect) CHECK_THAT(r.err, Contains(e));
  }
}
