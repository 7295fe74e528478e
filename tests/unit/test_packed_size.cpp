// Size on disk of the GPTQ-packed export (harness/ptq/packed_size.h, issue #30), against byte counts
// derived by hand below for the embedded tiny model: hidden 256, intermediate 768, 4 layers, 4 heads of
// 64 (q_dim 256), 2 kv heads (kv_dim 128), vocab 2048, untied head, no biases.
//
// What is not a block linear, in float16: embed_tokens and lm_head 2 x 2048 x 256 x 2 = 2 097 152 bytes,
// two norms per layer 4 x 2 x 256 x 2 = 4096, the final norm 512: 2 101 760 bytes in every setting.
// The 28 block linears hold 4 x (256*256 + 2*128*256 + 256*256 + 3*768*256) = 4 x 786 432 = 3 145 728
// weights, 6 291 456 bytes in float16.
#include "harness/model/llama_config.h"
#include "harness/ptq/packed_size.h"
#include "harness/ptq/quant_setting.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using ptq::quant::packed_size;
using ptq::quant::QuantSetting;

namespace {

constexpr int64_t kOther = 2101760;          // embeddings, lm_head, norms (float16)
constexpr int64_t kLinearWeights = 3145728;  // the 28 block linears' weights
constexpr int64_t kFp16Total = 2 * kLinearWeights + kOther;

ptq::LlamaConfig tiny() {
  return ptq::LlamaConfig::from_file(ptq::test::source_dir() + "/experiments/models/tiny-llama/config.json");
}

}  // namespace

TEST_CASE("packed size: the tiny model's shape as the hand counts assume it", "[unit][packed_size]") {
  const ptq::LlamaConfig c = tiny();
  REQUIRE(c.hidden_size == 256);
  REQUIRE(c.intermediate_size == 768);
  REQUIRE(c.num_hidden_layers == 4);
  REQUIRE(c.q_dim() == 256);
  REQUIRE(c.kv_dim() == 128);
  REQUIRE(c.vocab_size == 2048);
  REQUIRE_FALSE(c.tie_word_embeddings);
  CHECK(c.parameter_count() * 2 == kFp16Total);  // the model's own count agrees with the one above
  const auto fp = packed_size(c, QuantSetting::parse("W16A16"));
  CHECK_FALSE(fp.quantized);
  CHECK(fp.total_bytes == kFp16Total);
  CHECK(fp.fp16_total_bytes == kFp16Total);
  CHECK(fp.quantized_bytes == 0);
  CHECK(fp.bits_per_weight == 16);
  CHECK(fp.effective_bits_per_weight == 16);
  CHECK(fp.float_linears.empty());  // nothing was meant to be quantized
  CHECK(fp.to_json().at("size_kind") == "float16");
  // Activations only: the weights stay in float16 as well.
  CHECK(packed_size(c, QuantSetting::parse("W16A8")).total_bytes == kFp16Total);
}

TEST_CASE("packed size: W4A16g128 of the tiny model is 4.25 bits per weight, 26.6 % of float16", "[unit][packed_size]") {
  // Per layer (groups: 2 for in 256, 6 for in 768), qweight in*4/32*out*4 + qzeros G*out*4/32*4 +
  // scales G*out*2 + g_idx in*4:
  //   q, o [256, 256]   32768 + 256 + 1024 + 1024 =  35072 (each)
  //   k, v [128, 256]   16384 + 128 +  512 + 1024 =  18048 (each)
  //   gate, up [768, 256] 98304 + 768 + 3072 + 1024 = 103168 (each)
  //   down [256, 768]   98304 + 768 + 3072 + 3072 = 105216
  //   = 417 792 bytes per layer, 1 671 168 for 4, against 1 572 864 x 4 = 6 291 456 in float16.
  const auto s = packed_size(tiny(), QuantSetting::parse("W4A16g128"));
  CHECK(s.packable);
  CHECK(s.quantized);
  CHECK(s.quantized_bytes == 1671168);
  CHECK(s.quantized_fp16_bytes == 6291456);
  CHECK(s.total_bytes == 1671168 + kOther);
  CHECK(s.fp16_total_bytes == kFp16Total);
  CHECK(s.float_linears.empty());
  CHECK(s.note.empty());
  CHECK(s.bits_per_weight == 4.25);  // 1 671 168 * 8 / 3 145 728, exactly
  CHECK(s.effective_bits_per_weight == 4.25);
  // Issue #30's acceptance: the quantized linears take <= 30 % of their float16 bytes; here 26.5625 %.
  const double ratio = static_cast<double>(s.quantized_bytes) / static_cast<double>(s.quantized_fp16_bytes);
  CHECK(ratio == 0.265625);
  CHECK(ratio <= 0.30);
  const nlohmann::json j = s.to_json();
  CHECK(j.at("packed_bytes") == 1671168 + kOther);
  CHECK(j.at("fp16_bytes") == kFp16Total);
  CHECK(j.at("quantized_linear_bytes") == 1671168);
  CHECK(j.at("quantized_linear_fp16_bytes") == 6291456);
  CHECK(j.at("size_kind") == "gptq_packed");
  CHECK(j.at("packable") == true);
  CHECK(j.at("bits_per_weight") == 4.25);
}

TEST_CASE("packed size: W3A16 per channel straddles words in units of 32 values", "[unit][packed_size]") {
  // One group; qweight in*3/32 words per output, qzeros out*3/32 words:
  //   q, o [256, 256]    24*256*4 = 24576 + 24*4 = 96 + 512 + 1024 = 26208 (each)
  //   k, v [128, 256]    24*128*4 = 12288 + 12*4 = 48 + 256 + 1024 = 13616 (each)
  //   gate, up [768, 256] 24*768*4 = 73728 + 72*4 = 288 + 1536 + 1024 = 76576 (each)
  //   down [256, 768]    72*256*4 = 73728 + 24*4 = 96 + 512 + 3072 = 77408
  //   = 310 208 bytes per layer, 1 240 832 for 4.
  const auto s = packed_size(tiny(), QuantSetting::parse("W3A16"));
  CHECK(s.packable);
  CHECK(s.quantized_bytes == 1240832);
  CHECK(s.total_bytes == 1240832 + kOther);
  CHECK(s.bits_per_weight == Approx(1240832.0 * 8 / kLinearWeights));
  CHECK(s.bits_per_weight == Approx(3.1556).epsilon(1e-4));  // g_idx (32 bits per input) weighs on 256-wide linears
}

TEST_CASE("packed size: W2A16g64 and W8A16", "[unit][packed_size]") {
  // W2A16g64: 16 values a word; groups 4 (in 256) and 12 (in 768):
  //   q, o    16*256*4 = 16384 + 4*16*4 = 256 + 4*256*2 = 2048 + 1024 = 19712 (each)
  //   k, v    16*128*4 =  8192 + 4*8*4  = 128 + 4*128*2 = 1024 + 1024 = 10368 (each)
  //   gate, up 16*768*4 = 49152 + 4*48*4 = 768 + 4*768*2 = 6144 + 1024 = 57088 (each)
  //   down    48*256*4 = 49152 + 12*16*4 = 768 + 12*256*2 = 6144 + 3072 = 59136
  //   = 233 472 per layer, 933 888 for 4: exactly 2.375 bits per weight.
  const auto w2 = packed_size(tiny(), QuantSetting::parse("W2A16g64"));
  CHECK(w2.quantized_bytes == 933888);
  CHECK(w2.total_bytes == 933888 + kOther);
  CHECK(w2.bits_per_weight == 2.375);
  // W8A16 per channel: 4 values a word:
  //   q, o    64*256*4 = 65536 + 64*4 = 256 + 512 + 1024 = 67328 (each)
  //   k, v    64*128*4 = 32768 + 32*4 = 128 + 256 + 1024 = 34176 (each)
  //   gate, up 64*768*4 = 196608 + 192*4 = 768 + 1536 + 1024 = 199936 (each)
  //   down    192*256*4 = 196608 + 64*4 = 256 + 512 + 3072 = 200448
  //   = 803 328 per layer, 3 213 312 for 4: 8.171875 bits per weight.
  const auto w8 = packed_size(tiny(), QuantSetting::parse("W8A16"));
  CHECK(w8.quantized_bytes == 3213312);
  CHECK(w8.total_bytes == 3213312 + kOther);
  CHECK(w8.bits_per_weight == 8.171875);
  // The activation bits do not change what is stored.
  CHECK(packed_size(tiny(), QuantSetting::parse("W8A8")).total_bytes == w8.total_bytes);
}

TEST_CASE("packed size: linears whose widths do not pack stay in float16", "[unit][packed_size]") {
  ptq::LlamaConfig c = tiny();
  c.intermediate_size = 172;  // 172 = 21 x 8 + 4: not whole 4-bit words
  const auto s = packed_size(c, QuantSetting::parse("W4A16"));
  CHECK(s.packable);  // the setting packs; three linears per layer do not
  // gate/up [172, 256]: qzeros along out 172 fail; down [256, 172]: qweight along in 172 fails.
  REQUIRE(s.float_linears.size() == 12);
  CHECK(s.float_linears[0] == "model.layers.0.mlp.gate_proj");
  CHECK(s.float_linears[2] == "model.layers.0.mlp.down_proj");
  CHECK(s.float_linears[11] == "model.layers.3.mlp.down_proj");
  CHECK(s.note == "12 linear(s) kept in float16 (out_features 172 is not a multiple of 8 (4-bit values pack 8 to 1 "
                  "32-bit word))");
  // Attention, per layer: q, o 32768 + 128 + 512 + 1024 = 34432; k, v 16384 + 64 + 256 + 1024 = 17728:
  // 104 320, 417 280 for 4 layers over 4 x 196 608 = 786 432 weights.
  CHECK(s.quantized_bytes == 417280);
  CHECK(s.quantized_fp16_bytes == 786432 * 2);
  CHECK(s.bits_per_weight == Approx(417280.0 * 8 / 786432));  // 4.2448
  // The MLP in float16: 4 x 3 x 256 x 172 = 528 384 weights, 1 056 768 bytes.
  CHECK(s.total_bytes == 417280 + 1056768 + kOther);
  CHECK(s.effective_bits_per_weight == Approx((417280.0 * 8 + 528384.0 * 16) / (786432 + 528384)));  // 8.97
  CHECK(s.to_json().at("float_linears").size() == 12);
}

TEST_CASE("packed size: 6 bits has no packed layout: the theoretical size, said so", "[unit][packed_size]") {
  // bits * in * out + groups * out * (16-bit scale + 6-bit zero), in bits, rounded up to bytes; no g_idx:
  //   q, o    393216 + 256*22 = 398848 bits = 49856 bytes (each)
  //   k, v    196608 + 128*22 = 199424 bits = 24928 (each)
  //   gate, up 1179648 + 768*22 = 1196544 bits = 149568 (each)
  //   down    1179648 + 256*22 = 1185280 bits = 148160
  //   = 596 864 per layer, 2 387 456 for 4.
  const auto s = packed_size(tiny(), QuantSetting::parse("W6A6"));
  CHECK_FALSE(s.packable);
  CHECK(s.quantized);
  CHECK(s.quantized_bytes == 2387456);
  CHECK(s.total_bytes == 2387456 + kOther);
  CHECK(s.bits_per_weight == Approx(2387456.0 * 8 / kLinearWeights));  // 6.0716
  CHECK(s.float_linears.empty());
  CHECK(s.note == "theoretical size: 6-bit weights have no GPTQ packed layout (2, 3, 4 or 8 bits)");
  CHECK(s.to_json().at("size_kind") == "theoretical");
}

TEST_CASE("packed size: a group size that does not divide a linear is an input error", "[unit][packed_size]") {
  ptq::LlamaConfig c = tiny();
  c.intermediate_size = 172;
  CHECK_THROWS_AS(packed_size(c, QuantSetting::parse("W4A16g128")), ptq::InputError);
}
