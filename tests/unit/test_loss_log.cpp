// recon/loss_log.h and train_steps' use of it (quantize --log-losses): one JSON line per optimiser step, in
// order, with the loss the step back-propagated to the last fp32 bit, and the reconstruction term apart only
// when a regulariser makes them differ.
#include "harness/recon/loss_log.h"

#include "harness/recon/train_loop.h"
#include "harness/util/errors.h"
#include "harness/util/progress.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <vector>

namespace {

std::vector<nlohmann::json> lines_of(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ptq::test::read_text(path));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("loss log: train_steps writes every step's loss in order", "[loss_log]") {
  const ptq::test::TempDir dir;
  const std::string path = dir.file("losses.jsonl");
  ptq::recon::start_log_file(path, "--log-losses");
  ptq::recon::ReconOptions o;
  o.epochs = 2;
  o.progress = false;
  o.loss_log = path;
  const at::Tensor w = at::full({1}, 3.0f).requires_grad_(true);
  std::vector<float> seen;
  // Loss (w - j)^2 on sample j; the regularised step reports the plain term as "logged".
  const ptq::recon::StepLossFn step = [&](int64_t j, int64_t) {
    const at::Tensor l = (w - static_cast<double>(j)).pow(2).sum();
    seen.push_back(l.item<float>());
    return ptq::recon::StepLoss{l + (j == 1 ? 0.5 : 0.0), j == 1 ? l.item<double>() : std::nan("")};
  };
  ptq::Progress progress("test", 6, 10.0);
  int64_t done = 0;
  ptq::recon::train_steps({{{w}, 0.1, 0.0}}, 3, step, "block 4", "block 5/5", false, o, progress, done);
  const std::vector<nlohmann::json> log = lines_of(path);
  REQUIRE(log.size() == 6);
  for (size_t i = 0; i < log.size(); ++i) {
    INFO("line " << i);
    CHECK(log[i]["unit"] == "block 4");
    CHECK(log[i]["epoch"] == static_cast<int>(i / 3));
    CHECK(log[i]["step"] == static_cast<int>(i % 3));
    const bool regularised = i % 3 == 1;
    CHECK(static_cast<float>(log[i]["loss"].get<double>()) == seen[i] + (regularised ? 0.5f : 0.0f));
    CHECK(log[i].contains("recon_loss") == regularised);
    if (regularised) CHECK(static_cast<float>(log[i]["recon_loss"].get<double>()) == seen[i]);
  }
  // A second run appends; start_log_file truncates.
  ptq::recon::train_steps({{{w}, 0.1, 0.0}}, 3, step, "block 4", "block 5/5", false, o, progress, done);
  CHECK(lines_of(path).size() == 12);
  ptq::recon::start_log_file(path, "--log-losses");
  CHECK(lines_of(path).empty());
}

TEST_CASE("loss log: an unwritable path is one InputError naming it", "[loss_log]") {
  const ptq::test::TempDir dir;
  const std::string bad = dir.file("no/such/dir/losses.jsonl");
  CHECK_THROWS_WITH(ptq::recon::start_log_file(bad, "--log-losses"), Catch::Contains("--log-losses " + bad) && Catch::Contains("cannot create"));
  CHECK_THROWS_AS(ptq::recon::LossLog(bad), ptq::InputError);
  CHECK_NOTHROW(ptq::recon::LossLog(""));  // no log: writes nothing
}
