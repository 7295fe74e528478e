#include "harness/tiny/task_files.h"

#include "harness/io/files.h"
#include "harness/tiny/corpus.h"
#include "harness/util/py_random.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

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

template <typename T>
std::vector<std::string> names_of(const std::vector<T>& v, const std::string& prefix = "") {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(prefix + x.name);
  return out;
}

// The generators, one per task; entities drawn with the corpus's Zipf frequencies.
class TaskWriter {
 public:
  TaskWriter(const World& w, uint64_t seed) : w_(w), rng_(static_cast<int64_t>(seed)) {}
  const Person& person() { return w_.people[zipf_index(rng_, w_.people.size(), kPeopleZipfOffset)]; }
  const Town& town() { return w_.towns[zipf_index(rng_, w_.towns.size())]; }
  const Animal& animal() { return w_.animals[zipf_index(rng_, w_.animals.size())]; }
  const Tool& tool() { return w_.tools[zipf_index(rng_, w_.tools.size())]; }
  const std::string& town_of(const Person& p) const { return w_.towns[p.town].name; }

  json piqa(std::string* label) {
    std::string goal, good, bad;
    if (rng_.randbelow(2) == 0) {
      const Tool& t = tool();
      const Tool* other = &t;
      while (other->verb == t.verb) other = &tool();
      goal = fmt::format("To {} {}", t.verb, t.object), good = "use a " + t.name, bad = "use a " + other->name;
    } else {
      const Person& p = person();
      const Town* other = &w_.towns[p.town];
      while (other->name == town_of(p)) other = &town();
      goal = "To find " + p.name, good = "go to " + town_of(p), bad = "go to " + other->name;
    }
    const int l = static_cast<int>(rng_.randbelow(2));
    *label = std::to_string(l);
    return {{"goal", goal}, {"sol1", l == 0 ? good : bad}, {"sol2", l == 0 ? bad : good}};
  }

  json arc_easy(int i) {
    const Animal& a = animal();
    const Tool& t = tool();
    std::string q, correct;
    std::vector<std::string> pool;
    switch (rng_.randbelow(3)) {
      case 0: q = fmt::format("Where does the {} live?", a.name), correct = w_.habitats[a.habitat], pool = w_.habitats; break;
      case 1: q = fmt::format("What does the {} eat?", a.name), correct = w_.foods[a.food], pool = w_.foods; break;
      default: q = fmt::format("What is the {} made of?", t.name), correct = w_.materials[t.material], pool = w_.materials;
    }
    const auto [choices, gold] = choices_with(rng_, correct, pool, 3);
    return arc_row(fmt::format("tiny-easy-{}", i), q, choices, gold);
  }

  json arc_challenge(int i) {
    const Person& p = person();
    const Town& t = town();
    std::string q, correct;
    std::vector<std::string> pool;
    switch (rng_.randbelow(5)) {
      case 0: q = fmt::format("Which town is {} from?", p.name), correct = town_of(p), pool = names_of(w_.towns); break;
      case 1: q = fmt::format("What does {} work with?", p.name), correct = "a " + w_.tools[p.tool].name, pool = names_of(w_.tools, "a "); break;
      case 2: q = fmt::format("What is the job of {}?", p.name), correct = w_.jobs[p.job], pool = w_.jobs; break;
      case 3: q = fmt::format("What is {} known for?", t.name), correct = w_.products[t.product], pool = w_.products; break;
      default: q = fmt::format("Which river does {} lie on?", t.name), correct = w_.rivers[t.river], pool = w_.rivers;
    }
    const auto [choices, gold] = choices_with(rng_, correct, pool, 3);
    return arc_row(fmt::format("tiny-challenge-{}", i), q, choices, gold);
  }

  // A passage in the corpus's phrasing, then a question about it that is true half of the time. (Asked about
  // animals' habitats instead - knowledge the passage does not state - the committed model scored 56 %,
  // near chance; about the person the passage describes, 71 %: docs/tiny-llama.md's measurement.)
  json boolq(int i) {
    const bool truth = rng_.randbelow(2) == 0;
    const Person& p = person();
    const Tool& t = w_.tools[p.tool];
    const std::string passage = fmt::format("{} is a {} from {} . {} is {} years old . {} works with a {} every day .", p.name,
                                            w_.jobs[p.job], town_of(p), capitalize_first(pronoun(p)), p.age,
                                            capitalize_first(pronoun(p)), t.name);
    std::string asked = town_of(p);
    while (!truth && asked == town_of(p)) asked = town().name;
    return {{"question", fmt::format("does {} live in {}", p.name, asked)}, {"passage", passage}, {"idx", i}, {"label", truth}};
  }

  json hellaswag(int i) {
    const Person& p = person();
    const auto [tools, gold] = choices_with(rng_, w_.tools[p.tool].name, names_of(w_.tools), 3);
    std::vector<std::string> endings;
    for (const auto& t : tools) endings.push_back(t + " every day .");
    return {{"ind", i}, {"activity_label", capitalize_first(w_.jobs[p.job])},
            {"ctx_a", fmt::format("{} lives in {} .", p.name, town_of(p))}, {"ctx_b", fmt::format("{} works with a", pronoun(p))},
            {"ctx", ""}, {"endings", endings}, {"label", std::to_string(gold)}, {"split", "val"},
            {"split_type", "indomain"}, {"source_id", fmt::format("tiny-{}", i)}};
  }

  json winogrande(int i) {
    const bool a_first = rng_.randbelow(2) == 0;
    std::string first, second, rest;
    if (rng_.randbelow(2) == 0) {
      const Animal& a = animal();
      const Animal* b = &a;
      while (b->habitat == a.habitat) b = &animal();
      first = "the " + (a_first ? a.name : b->name), second = "the " + (a_first ? b->name : a.name);
      rest = fmt::format("The {} and {} were hungry , so _ went to {} to find {} .", first.substr(4), second,
                         w_.habitats[a.habitat], w_.foods[a.food]);
    } else {
      const Person& a = person();
      const Person* b = &a;
      while (b->town == a.town) b = &person();
      first = a_first ? a.name : b->name, second = a_first ? b->name : a.name;
      rest = fmt::format("{} and {} met at the market , but only _ lives in {} .", first, second, town_of(a));
    }
    return {{"qID", fmt::format("tiny-{}", i)}, {"sentence", rest}, {"option1", first}, {"option2", second},
            {"answer", a_first ? "1" : "2"}};
  }

  json lambada() {
    const Person& p = person();
    const Tool& t = w_.tools[p.tool];
    const std::string he = capitalize_first(pronoun(p));
    return {{"text", fmt::format("{} is a {} from {} . {} works with a {} every day . {} {} {} with the {} . In the evening , "
                                 "the children of {} waited at the door for {}",
                                 p.name, w_.jobs[p.job], town_of(p), he, t.name, he, third_person(t.verb), t.object, t.name,
                                 town_of(p), p.name)}};
  }

 private:
  const World& w_;
  PyRandom rng_;
};

}  // namespace

void write_task_files(const World& world, const std::string& dir, uint64_t seed, int n) {
  TaskWriter tw(world, seed);
  std::vector<json> piqa, easy, challenge, boolq, hellaswag, winogrande, lambada;
  std::string piqa_labels;
  for (int i = 0; i < n; ++i) {
    std::string label;
    piqa.push_back(tw.piqa(&label));
    piqa_labels += label + "\n";
  }
  for (int i = 0; i < n; ++i) easy.push_back(tw.arc_easy(i));
  for (int i = 0; i < n; ++i) challenge.push_back(tw.arc_challenge(i));
  for (int i = 0; i < n; ++i) boolq.push_back(tw.boolq(i));
  for (int i = 0; i < n; ++i) hellaswag.push_back(tw.hellaswag(i));
  for (int i = 0; i < n; ++i) winogrande.push_back(tw.winogrande(i));
  for (int i = 0; i < n; ++i) lambada.push_back(tw.lambada());

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
