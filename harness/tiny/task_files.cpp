#include "tiny/task_files.h"

#include "io/files.h"
#include "run/py_random.h"
#include "tiny/corpus.h"
#include "tiny/world.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace ptq::tiny {

namespace {

using nlohmann::json;

std::string jsonl(const std::vector<json>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.dump() + "\n";
  return out;
}

// `k` distinct values from `pool` that differ from `correct`, then the correct one inserted at a random
// position; returns the choices and the gold index.
std::pair<std::vector<std::string>, int> choices_with(PyRandom& rng, const std::string& correct,
                                                      std::vector<std::string> pool, size_t k) {
  std::sort(pool.begin(), pool.end());
  pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
  pool.erase(std::remove(pool.begin(), pool.end(), correct), pool.end());
  rng.shuffle(pool);
  pool.resize(std::min(k, pool.size()));
  const int gold = static_cast<int>(rng.randbelow(static_cast<int64_t>(pool.size()) + 1));
  pool.insert(pool.begin() + gold, correct);
  return {pool, gold};
}

json arc_row(const std::string& id, const std::string& question, const std::vector<std::string>& choices, int gold) {
  json c = json::array();
  for (size_t i = 0; i < choices.size(); ++i) c.push_back({{"text", choices[i]}, {"label", std::string(1, static_cast<char>('A' + i))}});
  return {{"id", id}, {"question", {{"stem", question}, {"choices", c}}}, {"answerKey", std::string(1, static_cast<char>('A' + gold))}};
}

}  // namespace

void write_task_files(const std::string& dir, uint64_t seed, int n) {
  const World& w = world();
  PyRandom rng(static_cast<int64_t>(seed));
  std::vector<std::string> habitats, foods, materials, towns, tools, jobs;
  for (const auto& a : w.animals) { habitats.push_back(a.habitat); foods.push_back(a.food); }
  for (const auto& t : w.tools) { materials.push_back(t.material); tools.push_back(t.name); }
  for (const auto& t : w.towns) towns.push_back(t.name);
  for (const auto& p : w.people) jobs.push_back(p.job);

  // PIQA: which tool achieves the goal.
  std::vector<json> piqa;
  std::string piqa_labels;
  for (int i = 0; i < n; ++i) {
    const Tool& t = w.tools[rng.randbelow(static_cast<int64_t>(w.tools.size()))];
    const Tool* other = &t;
    while (other->verb == t.verb) other = &w.tools[rng.randbelow(static_cast<int64_t>(w.tools.size()))];
    const int label = static_cast<int>(rng.randbelow(2));
    const std::string good = "use a " + t.name, bad = "use a " + other->name;
    piqa.push_back({{"goal", fmt::format("To {} {}", t.verb, t.object)}, {"sol1", label == 0 ? good : bad},
                    {"sol2", label == 0 ? bad : good}});
    piqa_labels += std::to_string(label) + "\n";
  }

  // ARC-Easy: where animals live, what they eat, what tools are made of.
  std::vector<json> easy;
  for (int i = 0; i < n; ++i) {
    const Animal& a = w.animals[rng.randbelow(static_cast<int64_t>(w.animals.size()))];
    const Tool& t = w.tools[rng.randbelow(static_cast<int64_t>(w.tools.size()))];
    std::string q, correct;
    std::vector<std::string> pool;
    switch (rng.randbelow(3)) {
      case 0: q = fmt::format("Where does the {} live?", a.name); correct = a.habitat; pool = habitats; break;
      case 1: q = fmt::format("What does the {} eat?", a.name); correct = a.food; pool = foods; break;
      default: q = fmt::format("What is the {} made of?", t.name); correct = t.material; pool = materials;
    }
    const auto [choices, gold] = choices_with(rng, correct, pool, 3);
    easy.push_back(arc_row(fmt::format("tiny-easy-{}", i), q, choices, gold));
  }
  // ARC-Challenge: people and towns (stated less often, and with more similar choices).
  std::vector<json> challenge;
  for (int i = 0; i < n; ++i) {
    const Person& p = w.people[rng.randbelow(static_cast<int64_t>(w.people.size()))];
    const Town& town = w.towns[rng.randbelow(static_cast<int64_t>(w.towns.size()))];
    std::string q, correct;
    std::vector<std::string> pool;
    switch (rng.randbelow(3)) {
      case 0: q = fmt::format("Which town is {} from?", p.name); correct = w.towns[p.town].name; pool = towns; break;
      case 1: q = fmt::format("What does {} work with?", p.name); correct = "a " + w.tools[p.tool].name;
        for (const auto& t : tools) pool.push_back("a " + t);
        break;
      default: q = fmt::format("Which town is known for its {}?", town.product); correct = town.name; pool = towns;
    }
    const auto [choices, gold] = choices_with(rng, correct, pool, 3);
    challenge.push_back(arc_row(fmt::format("tiny-challenge-{}", i), q, choices, gold));
  }

  // BoolQ: a passage stating facts, then a yes/no question (true half of the time).
  std::vector<json> boolq;
  for (int i = 0; i < n; ++i) {
    const Animal& a = w.animals[rng.randbelow(static_cast<int64_t>(w.animals.size()))];
    const bool truth = rng.randbelow(2) == 0;
    std::string habitat = a.habitat;
    while (!truth && habitat == a.habitat) habitat = rng.choice(habitats);
    const std::string passage = fmt::format("The {} is a {} that lives in {} . It eats {} and it {} at night .", a.name,
                                            a.kind, a.habitat, a.food, a.sound);
    boolq.push_back({{"question", fmt::format("does the {} live in {}", a.name, habitat)}, {"passage", passage},
                     {"idx", i}, {"label", truth}});
  }

  // HellaSwag: a person picks up a tool; the right ending is what that tool is for.
  std::vector<json> hellaswag;
  for (int i = 0; i < n; ++i) {
    const Person& p = w.people[rng.randbelow(static_cast<int64_t>(w.people.size()))];
    const Tool& t = w.tools[rng.randbelow(static_cast<int64_t>(w.tools.size()))];
    std::vector<std::string> endings_pool;
    for (const auto& o : w.tools)
      if (o.verb != t.verb) endings_pool.push_back(fmt::format("{} {} with it .", third_person(o.verb), o.object));
    const auto [endings, gold] =
        choices_with(rng, fmt::format("{} {} with it .", third_person(t.verb), t.object), endings_pool, 3);
    hellaswag.push_back({{"ind", i}, {"activity_label", capitalize_first(p.job)},
                         {"ctx_a", fmt::format("{} picks up the {} .", p.name, t.name)}, {"ctx_b", pronoun(p)},
                         {"ctx", ""}, {"endings", endings}, {"label", std::to_string(gold)}, {"split", "val"},
                         {"split_type", "indomain"}, {"source_id", fmt::format("tiny-{}", i)}});
  }

  // WinoGrande: which of two animals goes to its own habitat to find its own food.
  std::vector<json> winogrande;
  for (int i = 0; i < n; ++i) {
    const Animal& a = w.animals[rng.randbelow(static_cast<int64_t>(w.animals.size()))];
    const Animal* b = &a;
    while (b->habitat == a.habitat) b = &w.animals[rng.randbelow(static_cast<int64_t>(w.animals.size()))];
    const bool a_first = rng.randbelow(2) == 0;
    const std::string first = a_first ? a.name : b->name, second = a_first ? b->name : a.name;
    winogrande.push_back({{"qID", fmt::format("tiny-{}", i)},
                          {"sentence", fmt::format("The {} and the {} were hungry , so _ went to {} to find {} .", first,
                                                   second, a.habitat, a.food)},
                          {"option1", "the " + first}, {"option2", "the " + second}, {"answer", a_first ? "1" : "2"}});
  }

  // LAMBADA: the last word is the person the paragraph is about, named only at its start.
  std::vector<json> lambada;
  for (int i = 0; i < n; ++i) {
    const Person& p = w.people[rng.randbelow(static_cast<int64_t>(w.people.size()))];
    const Tool& t = w.tools[p.tool];
    lambada.push_back({{"text", fmt::format("{} is a {} from {} . {} works with a {} every day . {} {} {} with it . In the "
                                            "evening , the children of {} waited at the door for {}",
                                            p.name, p.job, w.towns[p.town].name, capitalize_first(pronoun(p)), t.name,
                                            capitalize_first(pronoun(p)), third_person(t.verb), t.object,
                                            w.towns[p.town].name, p.name)}});
  }

  const fs::path root(dir);
  io::write_file_atomic((root / "piqa" / "valid.jsonl").string(), jsonl(piqa));
  io::write_file_atomic((root / "piqa" / "valid-labels.lst").string(), piqa_labels);
  io::write_file_atomic((root / "arc" / "ARC-Easy-Test.jsonl").string(), jsonl(easy));
  io::write_file_atomic((root / "arc" / "ARC-Challenge-Test.jsonl").string(), jsonl(challenge));
  io::write_file_atomic((root / "boolq" / "dev.jsonl").string(), jsonl(boolq));
  io::write_file_atomic((root / "hellaswag" / "hellaswag_val.jsonl").string(), jsonl(hellaswag));
  io::write_file_atomic((root / "winogrande" / "dev.jsonl").string(), jsonl(winogrande));
  io::write_file_atomic((root / "lambada" / "lambada_test.jsonl").string(), jsonl(lambada));
}

}  // namespace ptq::tiny
