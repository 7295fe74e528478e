// The embedded default's generators: determinism, layout, the equivalence transform, and task answers
// that follow from the world's facts.
#include "evaluators/zeroshot/tasks.h"
#include "harness/model/llama_model.h"
#include "harness/recon/adamw.h"
#include "harness/tiny/corpus.h"
#include "harness/tiny/make_tiny.h"
#include "harness/tiny/outliers.h"
#include "harness/tiny/task_files.h"
#include "harness/tiny/world.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <sstream>

using Catch::Matchers::Contains;

namespace {

const ptq::tiny::World& test_world() {
  static const ptq::tiny::World w = ptq::tiny::build_world(4, {60, 12});
  return w;
}

}  // namespace

TEST_CASE("the world is drawn from its seed", "[unit][tiny]") {
  const auto a = ptq::tiny::build_world(4, {60, 12}), b = ptq::tiny::build_world(4, {60, 12});
  const auto c = ptq::tiny::build_world(5, {60, 12});
  REQUIRE(a.people.size() == 60);
  REQUIRE(a.towns.size() == 12);
  std::set<std::string> names;
  int same_as_b = 0, same_as_c = 0;
  for (size_t i = 0; i < a.people.size(); ++i) {
    names.insert(a.people[i].name);
    same_as_b += a.people[i].name == b.people[i].name && a.people[i].town == b.people[i].town;
    same_as_c += a.people[i].name == c.people[i].name && a.people[i].town == c.people[i].town;
  }
  CHECK(names.size() == 60);  // distinct names
  CHECK(same_as_b == 60);
  CHECK(same_as_c < 10);
}

TEST_CASE("the corpus is deterministic, WikiText-shaped, with matched quotes and brackets", "[unit][tiny]") {
  const auto& w = test_world();
  const std::string a = ptq::tiny::generate_wikitext(w, 5, 20000), b = ptq::tiny::generate_wikitext(w, 5, 20000);
  CHECK(a == b);
  CHECK(a != ptq::tiny::generate_wikitext(w, 6, 20000));
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
  const auto docs = ptq::tiny::generate_web_documents(w, 3, 30);
  CHECK(docs == ptq::tiny::generate_web_documents(w, 3, 30));
  size_t longest = 0;
  for (const auto& d : docs) longest = std::max(longest, d.size());
  CHECK(longest > 3000);  // long pages exist for the C4 windows
}

TEST_CASE("every fact the corpus states about a person is that person's", "[unit][tiny]") {
  // "<name> is a <job> from <town>": the job and town are the world's, for every occurrence.
  const auto& w = test_world();
  std::string text;
  for (const char c : ptq::tiny::generate_wikitext(w, 9, 150000))  // without the doubled spaces of the noise
    if (!(c == ' ' && !text.empty() && text.back() == ' ')) text += c;
  int checked = 0;
  for (const auto& p : w.people) {
    const std::string stated = p.name + " is a ";
    for (size_t at = text.find(" " + stated); at != std::string::npos; at = text.find(" " + stated, at + 1)) {
      const std::string expected = " " + stated + w.jobs[p.job] + " from " + w.towns[p.town].name + " ";
      CHECK(text.compare(at, expected.size(), expected) == 0);
      ++checked;
    }
  }
  CHECK(checked > 20);
}

TEST_CASE("Zipf-Mandelbrot frequencies", "[unit][tiny]") {
  // Weights 1 / (i + 1 + offset) over n = 3, offset 1: 1/2, 1/3, 1/4 of 13/12 -> 6/13, 4/13, 3/13.
  ptq::PyRandom rng(1);
  std::vector<int> counts(3, 0);
  const int draws = 26000;
  for (int i = 0; i < draws; ++i) ++counts[ptq::tiny::zipf_index(rng, 3, 1)];
  CHECK(counts[0] == Approx(draws * 6.0 / 13).epsilon(0.03));
  CHECK(counts[1] == Approx(draws * 4.0 / 13).epsilon(0.03));
  CHECK(counts[2] == Approx(draws * 3.0 / 13).epsilon(0.04));
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
    const at::Tensor x = ptq::rms_norm(model.embed(ids), model.block(0).input_layernorm, model.config().rms_norm_eps);
    const at::Tensor per_channel = x.abs().mean(std::vector<int64_t>{0, 1});
    return per_channel.max().item<double>() / per_channel.median().item<double>();
  };
  const double ratio_before = channel_ratio(m);
  // Per-row max |w| / rms(w) of q_proj: what a per-row min/max quantizer's step grows with.
  const auto q_row_ratio = [](const ptq::LlamaModel& model) {
    const at::Tensor w = model.block(0).q_proj.weight;
    return (std::get<0>(w.abs().max(1)) / w.pow(2).mean(1).sqrt()).mean().item<double>();
  };
  const double heavy_before = q_row_ratio(m);
  const at::Tensor q_before = m.block(0).q_proj.weight.clone();
  ptq::tiny::OutlierSpec spec;
  spec.seed = 3;
  spec.weight_hidden_channels = 2;
  spec.weight_intermediate_channels = 1;
  spec.weight_min_log2 = spec.weight_max_log2 = 3;
  const auto report = ptq::tiny::inject_outliers(m, spec);
  const at::Tensor after = m.forward(ids);
  // Power-of-two factors: every product is scaled exactly, so the logits agree to the last bits.
  CHECK(at::allclose(before, after, 1e-6, 1e-6));
  CHECK(report["hidden"].size() == 4);
  CHECK(report["intermediate"].size() == 2);
  REQUIRE(report["hidden_heavy_weights"].size() == 2);
  CHECK(report["intermediate_heavy_weights"][1].size() == 1);
  CHECK(channel_ratio(m) >= 20.0);
  CHECK(ratio_before < 20.0);
  // The heavy channels' q_proj columns are exactly 8 times what they were, on channels disjoint from the
  // activation outliers', and the rows' max/rms grew.
  std::set<int64_t> act;
  for (const auto& h : report["hidden"]) act.insert(h["channel"].get<int64_t>());
  for (const auto& h : report["hidden_heavy_weights"]) {
    const int64_t ch = h["channel"].get<int64_t>();
    CHECK(act.count(ch) == 0);
    CHECK(h["factor"].get<double>() == 0.125);
    CHECK(at::equal(m.block(0).q_proj.weight.select(1, ch), q_before.select(1, ch) * 8));
  }
  CHECK(q_row_ratio(m) > heavy_before * 1.3);
}

namespace {

// The world's answer to a task prompt, found by naive search over every entity (independent of the
// generator's code paths); empty when no entity matches.
std::string world_answer(const ptq::tiny::World& w, const std::string& ctx) {
  const auto has = [&](const std::string& s) { return ctx.find(s) != std::string::npos; };
  for (const auto& t : w.tools) {
    if (has("To " + t.verb + " " + t.object + "\n")) return "use a " + t.name;
    if (has("the " + t.name + " made of?")) return w.materials[t.material];
  }
  for (const auto& a : w.animals) {
    if (has("the " + a.name + " live?")) return w.habitats[a.habitat];
    if (has("the " + a.name + " eat?")) return w.foods[a.food];
  }
  for (const auto& p : w.people) {
    if (has("To find " + p.name + "\n")) return "go to " + w.towns[p.town].name;
    if (has("town is " + p.name + " from?")) return w.towns[p.town].name;
    if (has("does " + p.name + " work with?")) return "a " + w.tools[p.tool].name;
    if (has("job of " + p.name + "?")) return w.jobs[p.job];
    if (has(": " + p.name + " lives in ")) return w.tools[p.tool].name + " every day .";  // HellaSwag
  }
  for (const auto& t : w.towns) {
    if (has("is " + t.name + " known for?")) return w.products[t.product];
    if (has("does " + t.name + " lie on?")) return w.rivers[t.river];
  }
  return "";
}

}  // namespace

TEST_CASE("task answers follow from the world's facts", "[unit][tiny]") {
  ptq::test::TempDir dir;
  const auto& w = test_world();
  ptq::tiny::write_task_files(w, dir.path(), 11, 60);
  for (const char* task : {"piqa", "arc_easy", "arc_challenge", "hellaswag"}) {
    const auto t = ptq::eval::load_zeroshot_task(task, dir.path());
    REQUIRE(t.docs.size() == 60);
    for (const auto& d : t.docs) {
      INFO(task << ": " << d.requests[0].context);
      CHECK(d.choices.size() == (std::string(task) == "piqa" ? 2u : 4u));
      CHECK(d.choices[d.gold] == world_answer(w, d.requests[0].context));
    }
  }
  // BoolQ: yes exactly when the asked town is the person's.
  int yes = 0;
  for (const auto& d : ptq::eval::load_zeroshot_task("boolq", dir.path()).docs) {
    const std::string& ctx = d.requests[0].context;  // "<passage>\nQuestion: does <name> live in <town>?\nAnswer:"
    bool truth = false, found = false;
    for (const auto& p : w.people)
      if (ctx.find("Question: does " + p.name + " live in ") != std::string::npos) {
        found = true;
        truth = ctx.find(" live in " + w.towns[p.town].name + "?") != std::string::npos;
      }
    for (const auto& a : w.animals)
      if (ctx.find("Question: does the " + a.name + " live in ") != std::string::npos) {
        found = true;
        truth = ctx.find(" live in " + w.habitats[a.habitat] + "?") != std::string::npos;
      }
    CHECK(found);
    CHECK((d.gold == 0) == truth);
    yes += truth;
  }
  CHECK(yes > 15);
  CHECK(yes < 45);
  // WinoGrande: the gold option is the animal whose habitat and food follow, or the person who lives there.
  for (const auto& d : ptq::eval::load_zeroshot_task("winogrande", dir.path()).docs) {
    const std::string gold = d.choices[d.gold], cont = d.requests[0].continuation;
    INFO(gold << " |" << cont);
    bool ok = false;
    for (const auto& a : w.animals)
      if ("the " + a.name == gold) ok = cont.find(w.habitats[a.habitat] + " to find " + w.foods[a.food]) != std::string::npos;
    for (const auto& p : w.people)
      if (p.name == gold) ok = cont == " lives in " + w.towns[p.town].name + " .";
    CHECK(ok);
  }
  const auto lambada = ptq::eval::load_zeroshot_task("lambada_openai", dir.path());
  for (const auto& d : lambada.docs)
    CHECK(d.requests[0].context.rfind(d.choices[0] + " ", 0) == 0);  // the last word names the first word
}

TEST_CASE("unigram perplexity by hand", "[unit][tiny]") {
  // Add-one counts over 4 ids after train [1, 2, 2, 3]: [1, 2, 3, 2], total 8. Test [1, 2, 3] predicts
  // ids 2 and 3: ppl = exp(-(ln 3/8 + ln 2/8) / 2) = sqrt(8/3 * 8/2).
  CHECK(ptq::tiny::unigram_perplexity({1, 2, 2, 3}, {1, 2, 3}, 4) == Approx(std::sqrt(8.0 / 3 * 8.0 / 2)));
}

namespace {

// torch.optim.AdamW's single-tensor step (torch 1.13, adamw.py) transcribed op for op, in fp32.
void torch_adamw_step(at::Tensor& p, at::Tensor& m, at::Tensor& v, const at::Tensor& g, int t, double lr, double wd) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  p.mul_(1 - lr * wd);
  m.mul_(b1).add_(g, 1 - b1);
  v.mul_(b2).addcmul_(g, g, 1 - b2);
  const double step_size = lr / (1 - std::pow(b1, t));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(b2, t));
  const at::Tensor denom = (v.sqrt() / bias_correction2_sqrt).add_(eps);
  p.addcdiv_(m, denom, -step_size);
}

}  // namespace

// Issue #25: sqrt(v / bc2) + eps rounds differently from torch's sqrt(v) / sqrt(bc2) + eps in fp32.
TEST_CASE("AdamW equals torch.optim.AdamW bit for bit in fp32", "[unit][train]") {
  at::manual_seed(7);
  const at::Tensor start = at::randn({4096}), grads = at::randn({3, 4096}) * at::rand({3, 4096}).pow(4);
  at::Tensor p = start.clone().set_requires_grad(true);
  ptq::train::AdamW opt({{{p}, 1e-2, 0.01}}, 0.9, 0.999, 1e-8);
  at::Tensor ref = start.clone(), m = at::zeros_like(start), v = at::zeros_like(start);
  at::Tensor other = start.clone(), m2 = at::zeros_like(start), v2 = at::zeros_like(start);  // the other order
  for (int t = 1; t <= 3; ++t) {
    p.mutable_grad() = grads[t - 1].clone();
    opt.step();
    torch_adamw_step(ref, m, v, grads[t - 1], t, 1e-2, 0.01);
    other.mul_(1 - 1e-2 * 0.01);
    m2.mul_(0.9).add_(grads[t - 1], 0.1);
    v2.mul_(0.999).addcmul_(grads[t - 1], grads[t - 1], 0.001);
    other.addcdiv_(m2, (v2 / (1 - std::pow(0.999, t))).sqrt_().add_(1e-8), -1e-2 / (1 - std::pow(0.9, t)));
  }
  CHECK(at::equal(p.detach(), ref));
  CHECK_FALSE(at::equal(other, ref));  // the inputs tell the two orders apart
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
