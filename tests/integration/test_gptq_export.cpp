// Issue #30: `quantize --format gptq` and `ptqbench pack` write checkpoints in the GPTQ format whose
// quality is the fake-quant checkpoint's. Checked end to end through the CLI, and the packed tensors are
// read back by an unpacker written here from the format's definition (bit k*b..k*b+b-1 of each column's
// little-endian stream of 32-bit words; zero points stored minus one in checkpoint_format "gptq"), never
// by the product's unpacking code.
#include "harness/io/safetensors.h"
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

// Bit `bit` of the stream formed by the column `col` of `words` ([rows, cols] int32, row-major).
int stream_bit(const int32_t* words, int64_t cols, int64_t col, int64_t bit) {
  const auto word = static_cast<uint32_t>(words[(bit / 32) * cols + col]);
  return static_cast<int>((word >> (bit % 32)) & 1u);
}

// Value k of column `col`: bits [k*b, k*b + b) of the stream, least significant first.
int64_t stream_value(const int32_t* words, int64_t cols, int64_t col, int64_t k, int bits) {
  int64_t v = 0;
  for (int j = 0; j < bits; ++j) v |= int64_t{stream_bit(words, cols, col, k * bits + j)} << j;
  return v;
}

// The de-quantized [out, in] weight of packed linear `name` in `file`, by the format's definition.
at::Tensor reference_dequantize(const ptq::io::SafetensorsFile& file, const std::string& name, int bits, bool v1) {
  const at::Tensor qweight = file.load(name + ".qweight").contiguous();  // [in * bits / 32, out]
  const at::Tensor qzeros = file.load(name + ".qzeros").contiguous();    // [groups, out * bits / 32]
  const at::Tensor scales = file.load(name + ".scales").to(at::kFloat);  // [groups, out]
  const at::Tensor g_idx = file.load(name + ".g_idx");                   // [in]
  const int64_t out = qweight.size(1), in = qweight.size(0) * 32 / bits, groups = scales.size(0);
  REQUIRE(qzeros.size(1) * 32 / bits == out);
  REQUIRE(g_idx.min().item<int32_t>() >= 0);
  REQUIRE(g_idx.max().item<int32_t>() < groups);
  at::Tensor w = at::empty({out, in}, at::kFloat);
  auto wa = w.accessor<float, 2>();
  const auto sa = scales.accessor<float, 2>();
  const auto ga = g_idx.accessor<int32_t, 1>();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const int64_t g = ga[i];
      // qzeros: each group's row is one stream along the output dimension (a [1, words] matrix per row).
      const int64_t zero = stream_value(qzeros.data_ptr<int32_t>() + g * qzeros.size(1), 1, 0, o, bits) + (v1 ? 1 : 0);
      const int64_t q = stream_value(qweight.data_ptr<int32_t>(), out, o, i, bits);
      wa[o][i] = static_cast<float>(q - zero) * sa[g][o];
    }
  return w;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(ptq::test::read_text(path)); }

double wikitext_ppl(const std::string& model) {
  const auto e = run_ptqbench({"eval", "--model", model, "--task", "wikitext2", "--data", ptq::test::tiny_data() + "/wikitext2",
                               "--seqlen", "256", "--limit", "8", "--json", "--no-cache"});
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  return nlohmann::json::parse(e.out)["results"]["wikitext2"]["ppl"].get<double>();
}

ptq::test::CliResult quantize(const std::string& model, const std::string& method, const std::string& setting,
                              const std::string& config, const std::string& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"quantize", "--model", model, "--method", method, "--setting", setting, "--config",
                                   config, "--out", out, "--calib-data", ptq::test::tiny_data() + "/wikitext2",
                                   "--nsamples", "4", "--seqlen", "128", "--no-cache"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_ptqbench(args);
}

bool one_line_error(const ptq::test::CliResult& r) {
  return r.exit_code == 2 && r.err.rfind("ptqbench: error: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

// Every packed linear of `packed` de-quantizes (by the reference) to the weight of `fake` within the
// float16 rounding of its scales (`exact`: bit for bit). Returns the number of packed linears.
int check_against_fake(const std::string& fake, const std::string& packed, bool exact) {
  const auto qc = read_json(packed + "/config.json")["quantization_config"];
  const int bits = qc["bits"];
  const bool v1 = qc["checkpoint_format"] == "gptq";
  const ptq::io::SafetensorsFile pf(packed + "/model.safetensors"), ff(fake + "/model.safetensors");
  int linears = 0;
  for (const auto& t : pf.tensors()) {
    const std::string suffix = ".qweight";
    if (t.name.size() < suffix.size() || t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string name = t.name.substr(0, t.name.size() - suffix.size());
    INFO(name);
    const at::Tensor ref = reference_dequantize(pf, name, bits, v1);
    const at::Tensor w = ff.load(name + ".weight").to(at::kFloat);
    if (exact) {
      CHECK(at::equal(ref, w));
    } else {  // |q - z| * |fp16(s) - s| <= |w| * 2^-11, plus float32 rounding
      CHECK(((ref - w).abs() - w.abs() * std::ldexp(1.0, -11) - 1e-6).max().item<double>() <= 0);
    }
    ++linears;
  }
  return linears;
}

}  // namespace

TEST_CASE("RTN packed in the GPTQ format at every weight-only setting matches its fake-quant checkpoint",
          "[integration][gptq-export]") {
  TempDir dir;
  const std::string model = ptq::test::tiny_model();
  for (const std::string setting : {"W4A16g128", "W4A16", "W3A16", "W3A16g128", "W2A16g64", "W8A16", "W4A16g64-wsym"}) {
    INFO(setting);
    const std::string fake = dir.file(setting + "-fake"), packed = dir.file(setting + "-gptq");
    const auto q = quantize(model, "rtn", setting, "{}", fake);
    INFO(q.err);
    REQUIRE(q.exit_code == 0);
    const auto p = run_ptqbench({"pack", fake, "--format", "gptq", "-o", packed});
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(check_against_fake(fake, packed, false) == 28);  // 4 blocks x 7 linears: tiny-llama's widths all pack
    const double f = wikitext_ppl(fake), g = wikitext_ppl(packed);
    CHECK(std::abs(g / f - 1) < 1e-3);
    WARN(setting << ": fake-quant ppl " << f << ", packed " << g << " (" << (g / f - 1) * 100 << " %)");
  }
}

TEST_CASE("with fp16 scales the fake-quant and the packed checkpoint are bit-identical", "[integration][gptq-export]") {
  TempDir dir;
  const std::string model = ptq::test::tiny_model();
  const auto q = quantize(model, "rtn", "W4A16g128", "{}", dir.file("fake"), {"--fp16-scales"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const auto p = run_ptqbench({"pack", dir.file("fake"), "-o", dir.file("packed"), "--save-dtype", "fp32"});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  CHECK(check_against_fake(dir.file("fake"), dir.file("packed"), true) == 28);
  CHECK(wikitext_ppl(dir.file("fake")) == wikitext_ppl(dir.file("packed")));
}

TEST_CASE("calibrated methods round-trip through quantize --format gptq and pack", "[integration][gptq-export]") {
  TempDir dir;
  const std::string model = ptq::test::tiny_model();
  struct Case {
    std::string method, setting, config;
    bool via_quantize;  // quantize --format gptq (the method runs again), else pack of the fake-quant output
  };
  const Case cases[] = {{"gptq", "W4A16g128", R"({"act_order": false})", false},
                        {"gptq", "W3A16g64", R"({"act_order": true})", true},
                        {"omniquant", "W3A16", R"({"epochs": 2, "let": "off"})", true},
                        {"omniquant", "W2A16g64", R"({"epochs": 2, "let": "off"})", false},
                        // LET with shifts: q/k/v/o and MLP biases, and norm biases (ptqbench's, with a note).
                        {"omniquant", "W4A16g128", R"({"epochs": 1, "let": "on", "shift": "on"})", false},
                        {"mppq", "W4A16g128", R"({"epochs": 2})", true}};
  for (const Case& c : cases) {
    INFO(c.method << " " << c.setting << " " << c.config);
    const std::string fake = dir.file(c.method + c.setting + "-fake"), packed = dir.file(c.method + c.setting + "-gptq");
    const auto q = quantize(model, c.method, c.setting, c.config, fake, {"--fp16-scales"});
    INFO(q.err);
    REQUIRE(q.exit_code == 0);
    // Run again and written packed (the methods are deterministic on the CPU), or the fake-quant output packed.
    const auto g = c.via_quantize
                       ? quantize(model, c.method, c.setting, c.config, packed, {"--format", "gptq", "--save-dtype", "fp32"})
                       : run_ptqbench({"pack", fake, "-o", packed, "--save-dtype", "fp32"});
    INFO(g.err);
    REQUIRE(g.exit_code == 0);
    CHECK(check_against_fake(fake, packed, true) == 28);
    const auto qc = read_json(packed + "/config.json")["quantization_config"];
    CHECK(qc["desc_act"] == (c.config.find(R"("act_order": true)") != std::string::npos));  // g_idx permuted
    if (c.config.find(R"("shift": "on")") != std::string::npos) {
      const auto config = read_json(packed + "/config.json");
      CHECK(config["attention_bias"] == true);
      CHECK(config["mlp_bias"] == true);
      CHECK(ptq::io::SafetensorsFile(packed + "/model.safetensors").find("model.layers.0.self_attn.q_proj.bias") != nullptr);
      CHECK_THAT(g.err, Contains("ptqbench_norm_bias"));
    }
    CHECK(wikitext_ppl(fake) == wikitext_ppl(packed));
  }
}

TEST_CASE("a W4A16g128 export of the embedded default: layout, config and size", "[integration][gptq-export]") {
  TempDir dir;
  const auto q = quantize(ptq::test::tiny_model(), "rtn", "W4A16g128", "{}", dir.file("p"), {"--format", "gptq"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const auto config = read_json(dir.file("p/config.json"));
  const auto qc = config["quantization_config"];
  CHECK(qc["quant_method"] == "gptq");
  CHECK(qc["bits"] == 4);
  CHECK(qc["group_size"] == 128);
  CHECK(qc["desc_act"] == false);
  CHECK(qc["sym"] == false);
  CHECK(qc["checkpoint_format"] == "gptq");
  CHECK(qc["modules_to_not_convert"].empty());
  CHECK(config["torch_dtype"] == "float16");
  CHECK(read_json(dir.file("p/quantize_config.json")) == qc);
  CHECK(read_json(dir.file("p/quantization.json"))["format"] == "gptq");
  CHECK(fs::exists(dir.file("p/tokenizer.model")));
  // The quantized linears' bytes on disk against their float16 bytes (hand count in the note: 26.6 %).
  const ptq::io::SafetensorsFile f(dir.file("p/model.safetensors"));
  int64_t packed = 0, fp16 = 0;
  for (const auto& t : f.tensors()) {
    const auto ends = [&](const std::string& s) { return t.name.size() > s.size() && t.name.compare(t.name.size() - s.size(), s.size(), s) == 0; };
    if (ends(".qweight") || ends(".qzeros") || ends(".scales") || ends(".g_idx")) packed += static_cast<int64_t>(t.nbytes());
    if (ends(".qweight")) fp16 += t.shape[0] * 32 / 4 * t.shape[1] * 2;
    CHECK_FALSE(ends(".weight_scale"));
    if (ends("_proj.weight")) FAIL("unpacked linear " << t.name);
  }
  CHECK(packed == 4 * 417792);
  // quantization.json's size (ptq/packed_size.h, computed from config and setting) is what was written.
  int64_t all = 0;
  for (const auto& t : f.tensors()) all += static_cast<int64_t>(t.nbytes());
  const auto size = read_json(dir.file("p/quantization.json"))["size"];
  CHECK(size["packed_bytes"] == all);
  CHECK(size["quantized_linear_bytes"] == packed);  // per block: qweight 393216, scales 12288, g_idx 9216, qzeros 3072 bytes
  CHECK(fp16 == 4 * 1572864);
  CHECK(static_cast<double>(packed) / static_cast<double>(fp16) <= 0.30);
}

TEST_CASE("exports that the GPTQ format cannot represent fail with one line and write nothing",
          "[integration][gptq-export]") {
  TempDir dir;
  const std::string model = ptq::test::tiny_model();
  const auto w4a4 = quantize(model, "rtn", "W4A4", "{}", dir.file("a"), {"--format", "gptq"});
  CHECK(one_line_error(w4a4));
  CHECK_THAT(w4a4.err, Contains("W4A4") && Contains("activations"));
  const auto w6 = quantize(model, "rtn", "W6A16", "{}", dir.file("b"), {"--format", "gptq"});
  CHECK(one_line_error(w6));
  CHECK_THAT(w6.err, Contains("2, 3, 4 or 8"));
  const auto group = quantize(model, "rtn", "W4A16g100", "{}", dir.file("c"), {"--format", "gptq"});
  CHECK(one_line_error(group));
  CHECK_THAT(group.err, Contains("100"));
  // A fake-quant W4A4 result cannot be packed either.
  REQUIRE(quantize(model, "rtn", "W4A4", "{}", dir.file("w4a4")).exit_code == 0);
  const auto pack_w4a4 = run_ptqbench({"pack", dir.file("w4a4"), "-o", dir.file("d")});
  CHECK(one_line_error(pack_w4a4));
  // Packing a full-precision checkpoint: there are no scales to pack.
  const auto pack_fp = run_ptqbench({"pack", model, "-o", dir.file("e")});
  CHECK(one_line_error(pack_fp));
  CHECK_THAT(pack_fp.err, Contains("quantization.json"));
  for (const char* out : {"a", "b", "c", "d", "e"}) CHECK_FALSE(fs::exists(dir.file(out)));
}

namespace {

// The tiny model with every weight of layer 0's q_proj made non-negative: asymmetric RTN then gives those
// rows a zero point of 0, which checkpoint_format gptq (zero - 1 stored) cannot hold.
std::string model_with_zero_points_of_0(const TempDir& dir) {
  const std::string out = dir.file("positive");
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(ptq::test::tiny_model())) fs::copy_file(e.path(), out + "/" + e.path().filename().string());
  const ptq::io::SafetensorsFile f(out + "/model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& t : f.tensors()) {
    at::Tensor v = f.load(t.name);
    if (t.name == "model.layers.0.self_attn.q_proj.weight") v = v.abs();
    tensors.emplace_back(t.name, v);
  }
  fs::remove(out + "/model.safetensors");
  ptq::io::write_safetensors(out + "/model.safetensors", tensors);
  return out;
}

}  // namespace

TEST_CASE("zero points of 0: negated scales in checkpoint_format gptq, as they are in gptq_v2", "[integration][gptq-export]") {
  TempDir dir;
  const std::string model = model_with_zero_points_of_0(dir);
  REQUIRE(quantize(model, "rtn", "W4A16g128", "{}", dir.file("fake"), {"--fp16-scales"}).exit_code == 0);
  for (const std::string format : {"gptq", "gptq_v2"}) {
    INFO(format);
    const std::string out = dir.file(format);
    const auto r = run_ptqbench({"pack", dir.file("fake"), "-o", out, "--save-dtype", "fp32", "--checkpoint-format", format});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(read_json(out + "/config.json")["quantization_config"]["checkpoint_format"] == format);
    // Layer 0's q_proj: 256 rows x 2 groups, all of them with zero point 0.
    const ptq::io::SafetensorsFile f(out + "/model.safetensors");
    const at::Tensor scales = f.load("model.layers.0.self_attn.q_proj.scales").to(at::kFloat);
    CHECK(scales.lt(0).sum().item<int64_t>() == (format == "gptq" ? 512 : 0));
    CHECK(f.load("model.layers.1.self_attn.q_proj.scales").to(at::kFloat).gt(0).all().item<bool>());
    if (format == "gptq") CHECK_THAT(r.err, Contains("512 group(s) have a zero point of 0") && Contains("model.layers.0.self_attn.q_proj"));
    CHECK(check_against_fake(dir.file("fake"), out, true) == 28);
    CHECK(wikitext_ppl(dir.file("fake")) == wikitext_ppl(out));
  }
}

TEST_CASE("a zero point outside the b-bit range is refused naming the linear", "[integration][gptq-export]") {
  TempDir dir;
  REQUIRE(quantize(ptq::test::tiny_model(), "rtn", "W4A16g128", "{}", dir.file("fake")).exit_code == 0);
  // As LWC can leave it: a zero point of 17 at 4 bits (the weights are left as they are: the zero point is
  // checked before any weight is read).
  const std::string qp = dir.file("fake/quant_params.safetensors");
  const ptq::io::SafetensorsFile f(qp);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& t : f.tensors()) {
    at::Tensor v = f.load(t.name);
    if (t.name == "model.layers.2.mlp.up_proj.weight_zero") v[5][1] = 17;
    tensors.emplace_back(t.name, v);
  }
  fs::remove(qp);
  ptq::io::write_safetensors(qp, tensors);
  const auto r = run_ptqbench({"pack", dir.file("fake"), "-o", dir.file("out")});
  CHECK(one_line_error(r));
  CHECK_THAT(r.err, Contains("model.layers.2.mlp.up_proj") && Contains("zero point 17") && Contains("[0, 15]"));
  CHECK_FALSE(fs::exists(dir.file("out")));
}

// The real pretrained checkpoint (stories260K, dim 64, hidden 172): at 4 and 3 bits the MLP's 172-wide
// dimension does not pack, so those linears stay in floating point and are listed; at 8 bits all pack.
TEST_CASE("the real stories260K checkpoint round-trips, with unpackable linears kept in floating point",
          "[data][gptq-export]") {
  const std::string bin = ptq::test::require_test_data("stories260K/stories260K.bin");
  const std::string wiki = ptq::test::require_test_data("wikitext2/wiki.test.raw");
  TempDir dir;
  REQUIRE(run_ptqbench({"import-llama2c", bin, ptq::test::require_test_data("stories260K/tok512.model"), dir.file("m")})
              .exit_code == 0);
  const auto ppl = [&](const std::string& m) {
    const auto e = run_ptqbench({"eval", "--model", m, "--task", "wikitext2", "--data", wiki, "--seqlen", "256",
                                 "--limit", "16", "--json", "--no-cache"});
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    return nlohmann::json::parse(e.out)["results"]["wikitext2"]["ppl"].get<double>();
  };
  struct Case {
    std::string method, setting, config;
    size_t kept;  // linears in modules_to_not_convert
  };
  const Case cases[] = {{"rtn", "W4A16", "{}", 15},  // gate, up (out 172) and down (in 172) of 5 blocks
                        {"rtn", "W8A16", "{}", 0},
                        {"gptq", "W3A16", "{}", 15},
                        {"omniquant", "W4A16", R"({"epochs": 2, "let": "off"})", 15},
                        {"mppq", "W8A16", R"({"epochs": 2})", 0}};
  for (const Case& c : cases) {
    INFO(c.method << " " << c.setting);
    const std::string fake = dir.file(c.method + c.setting), packed = fake + "-gptq";
    std::vector<std::string> args = {"quantize", "--model", dir.file("m"), "--method", c.method, "--setting", c.setting,
                                     "--config", c.config, "--out", fake, "--calib-data", wiki, "--nsamples", "8",
                                     "--seqlen", "256", "--no-cache"};
    const auto q = run_ptqbench(args);
    INFO(q.err);
    REQUIRE(q.exit_code == 0);
    const auto p = run_ptqbench({"pack", fake, "-o", packed});
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    const auto qc = read_json(packed + "/config.json")["quantization_config"];
    CHECK(qc["modules_to_not_convert"].size() == c.kept);
    CHECK(check_against_fake(fake, packed, false) == static_cast<int>(35 - c.kept));
    const double f = ppl(fake), g = ppl(packed);
    CHECK(std::abs(g / f - 1) < 1e-3);
    WARN(c.method << " " << c.setting << ": fake-quant ppl " << f << ", packed " << g << " (" << (g / f - 1) * 100 << " %)");
  }
}

TEST_CASE("pack writes the same bytes from a streamed model as from a resident one", "[integration][gptq-export]") {
  TempDir dir;
  REQUIRE(quantize(ptq::test::tiny_model(), "rtn", "W3A16g64", "{}", dir.file("fake")).exit_code == 0);
  for (const char* stream : {"on", "off"}) {
    const auto r = run_ptqbench({"pack", dir.file("fake"), "-o", dir.file(stream), "--stream", stream});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  CHECK(ptq::test::read_text(dir.file("on/model.safetensors")) == ptq::test::read_text(dir.file("off/model.safetensors")));
}
