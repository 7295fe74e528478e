// The embedded default's generators: determinism, layout, the equivalence transform, and task answers
// that follow from the world's facts.
#include "model/llama_model.h"
#include "support/random_model.h"
#include "support/test_env.h"
#include "tiny/corpus.h"
#include "tiny/make_tiny.h"
#include "tiny/outliers.h"
#include "tiny/task_files.h"
#include "tiny/world.h"
#include "train/adamw.h"
#include "zeroshot/tasks.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

using Catch::Matchers::Contains;

TEST_CASE("the corpus is deterministic, WikiText-shaped, with matched quotes and brackets", "[unit][tiny]") {
  const std::string a = ptq::tiny::generate_wikitext(5, 20000), b = ptq::tiny::generate_wikitext(5, 20000);
  CHECK(a == b);
  CHECK(a != ptq::tiny::generate_wikitext(6, 20000));
  CHECK(a.size() >= 20000);
  CHECK_THAT(a, Contains("\n = "));  // headings
  std::istringstream in(a);
  int lines = 0;
  bool in_quiz = false;  // quiz sections hold lines in the zero-shot prompt format instead
  for (std::string line; std::getline(in, line); ++lines) {
    if (line == " = = Questions = = ") in_quiz = true;
    else if (line.rfind(" = ", 0) == 0 && line.rfind(" = = ", 0) != 0) in_quiz = false;
    if (!in_quiz) CHECK(line.rfind(" ", 0) == 0);  // WikiText lines start with a space
    CHECK(std::count(line.begin(), line.end(), '"') % 2 == 0);
    CHECK(std::count(line.begin(), line.end(), '(') == std::count(line.begin(), line.end(), ')'));
  }
  CHECK(lines > 50);
  const auto docs = ptq::tiny::generate_web_documents(3, 30);
  CHECK(docs == ptq::tiny::generate_web_documents(3, 30));
  size_t longest = 0;
  for (const auto& d : docs) longest = std::max(longest, d.size());
  CHECK(longest > 3000);  // long pages exist for the C4 windows
}

TEST_CASE("verb agreement", "[unit][tiny]") {
  CHECK(ptq::tiny::third_person("catch") == "catches");
  CHECK(ptq::tiny::third_person("carry") == "carries");
  CHECK(ptq::tiny::third_person("stay") == "stays");
  CHECK(ptq::tiny::third_person("cut") == "cuts");
}

TEST_CASE("outlier injection leaves the function unchanged and creates outlier channels", "[unit][tiny]") {
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 91);
  const at::Tensor ids = at::randint(0, 97, {2, 24}, at::kLong);
  const at::Tensor before = m.forward(ids);
  const auto channel_ratio = [&](const ptq::LlamaModel& model) {
    const at::Tensor x = ptq::rms_norm(model.embed(ids), model.blocks[0].input_layernorm, model.config().rms_norm_eps);
    const at::Tensor per_channel = x.abs().mean(std::vector<int64_t>{0, 1});
    return per_channel.max().item<double>() / per_channel.median().item<double>();
  };
  const double ratio_before = channel_ratio(m);
  ptq::tiny::OutlierSpec spec;
  spec.seed = 3;
  const auto report = ptq::tiny::inject_outliers(m, spec);
  const at::Tensor after = m.forward(ids);
  // Power-of-two factors: every product is scaled exactly, so the logits agree to the last bits.
  CHECK(at::allclose(before, after, 1e-6, 1e-6));
  CHECK(report["hidden"].size() == 4);
  CHECK(report["intermediate"].size() == 2);
  CHECK(channel_ratio(m) >= 20.0);
  CHECK(ratio_before < 20.0);
}

TEST_CASE("task answers follow from the world's facts", "[unit][tiny]") {
  ptq::test::TempDir dir;
  ptq::tiny::write_task_files(dir.path(), 11, 40);
  const auto& w = ptq::tiny::world();
  const auto piqa = ptq::eval::load_zeroshot_task("piqa", dir.path());
  REQUIRE(piqa.docs.size() == 40);
  for (const auto& d : piqa.docs) {
    const std::string& goal = d.requests[0].context;  // "Question: To <verb> <object>\nAnswer:"
    bool found = false;
    for (const auto& t : w.tools)
      if (goal.find("To " + t.verb + " " + t.object + "\n") != std::string::npos && d.choices[d.gold] == "use a " + t.name)
        found = true;
    CHECK(found);
  }
  const auto easy = ptq::eval::load_zeroshot_task("arc_easy", dir.path());
  for (const auto& d : easy.docs) {
    CHECK(d.choices.size() == 4);
    bool ok = false;
    for (const auto& a : w.animals) {
      if (d.requests[0].context.find("the " + a.name + " live?") != std::string::npos) ok = d.choices[d.gold] == a.habitat;
      if (d.requests[0].context.find("the " + a.name + " eat?") != std::string::npos) ok = d.choices[d.gold] == a.food;
    }
    for (const auto& t : w.tools)
      if (d.requests[0].context.find("the " + t.name + " made of?") != std::string::npos) ok = d.choices[d.gold] == t.material;
    CHECK(ok);
  }
  const auto wino = ptq::eval::load_zeroshot_task("winogrande", dir.path());
  for (const auto& d : wino.docs) {
    const std::string gold_animal = d.choices[d.gold].substr(4);  // "the otter" -> "otter"
    bool ok = false;
    for (const auto& a : w.animals)
      if (a.name == gold_animal) ok = d.requests[0].continuation.find(a.habitat + " to find " + a.food) != std::string::npos;
    CHECK(ok);
  }
  const auto lambada = ptq::eval::load_zeroshot_task("lambada_openai", dir.path());
  for (const auto& d : lambada.docs)
    CHECK(d.requests[0].context.rfind(d.choices[0] + " ", 0) == 0);  // the last word names the first word
  for (const char* t : {"arc_challenge", "boolq", "hellaswag"})
    CHECK(ptq::eval::load_zeroshot_task(t, dir.path()).docs.size() == 40);
}

TEST_CASE("unigram perplexity by hand", "[unit][tiny]") {
  // Add-one counts over 4 ids after train [1, 2, 2, 3]: [1, 2, 3, 2], total 8. Test [1, 2, 3] predicts
  // ids 2 and 3: ppl = exp(-(ln 3/8 + ln 2/8) / 2) = sqrt(8/3 * 8/2).
  CHECK(ptq::tiny::unigram_perplexity({1, 2, 2, 3}, {1, 2, 3}, 4) == Approx(std::sqrt(8.0 / 3 * 8.0 / 2)));
}

TEST_CASE("AdamW follows torch.optim.AdamW's arithmetic", "[unit][train]") {
  at::Tensor p = at::tensor({1.0, -2.0}, at::kDouble).set_requires_grad(true);
  ptq::train::AdamW opt({{{p}, 0.1, 0.01}}, 0.9, 0.999, 1e-8);
  const double grads[2][2] = {{0.5, -1.0}, {0.2, 0.4}};
  double ref[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  for (int t = 1; t <= 2; ++t) {
    p.mutable_grad() = at::tensor({grads[t - 1][0], grads[t - 1][1]}, at::kDouble);
    opt.step();
    for (int i = 0; i < 2; ++i) {
      const double g = grads[t - 1][i];
      ref[i] *= 1 - 0.1 * 0.01;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, t)), vhat = v[i] / (1 - std::pow(0.999, t));
      ref[i] -= 0.1 * mhat / (std::sqrt(vhat) + 1e-8);
    }
    CHECK(p[0].item<double>() == Approx(ref[0]).epsilon(1e-12));
    CHECK(p[1].item<double>() == Approx(ref[1]).epsilon(1e-12));
  }
  // Clipping scales the whole gradient to the given norm.
  p.mutable_grad() = at::tensor({3.0, 4.0}, at::kDouble);
  CHECK(ptq::train::clip_grad_norm({p}, 1.0) == Approx(5.0));
  CHECK(p.grad().norm().item<double>() == Approx(1.0).epsilon(1e-5));
}
