#include "tiny/corpus.h"

#include "tiny/world.h"

#include <fmt/format.h>

namespace ptq::tiny {

namespace {

const std::vector<std::string> kDays = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
const std::vector<std::string> kWeather = {"cold", "warm", "quiet", "rainy", "bright", "windy", "grey", "long"};
const std::vector<std::string> kTimes = {"morning", "evening", "afternoon", "night", "winter", "summer", "spring"};
const std::vector<std::string> kFeelings = {"happy", "tired", "proud", "calm", "hungry", "glad", "busy"};
const std::vector<std::string> kSights = {"the old bridge", "a small boat", "the market", "a tall tree", "the mill",
                                          "a stone wall", "the harbour", "a green field", "the church", "a red roof"};
const std::vector<std::string> kDoings = {"sang a song", "told a story", "read a book", "made a fire", "drank some tea",
                                          "watched the sky", "mended a coat", "fed the hens", "counted the coins"};

// Real text has irregular whitespace: about one space in twenty is doubled. Without it a model never sees
// a lone "▁" piece before a word - exactly what lm-eval 0.3's separate tokenization of " word" produces.
std::string with_whitespace_noise(PyRandom& rng, const std::string& line) {
  std::string out;
  out.reserve(line.size() + line.size() / 16);
  for (size_t i = 0; i < line.size(); ++i) {
    out += line[i];
    if (line[i] == ' ' && i > 0 && i + 1 < line.size() && line[i - 1] != ' ' && line[i + 1] != ' ' && rng.randbelow(20) == 0)
      out += ' ';
  }
  return out;
}

// A sentence of everyday filler: adds variety (entropy) the facts alone do not have.
std::string filler(PyRandom& rng, const std::string& who) {
  switch (rng.randbelow(3)) {
    case 0: return fmt::format("The {} was {} , and {} {} near {} .", rng.choice(kTimes), rng.choice(kWeather), who,
                               rng.choice(kDoings), rng.choice(kSights));
    case 1: return fmt::format("On {} , {} {} .", rng.choice(kDays), who, rng.choice(kDoings));
    default: return fmt::format("From {} one could see {} .", rng.choice(kSights), rng.choice(kSights));
  }
}

template <typename T>
const T& pick_zipf(PyRandom& rng, const std::vector<T>& v) { return v[zipf_index(rng, v.size())]; }

std::string sentence(const std::string& s) { return capitalize_first(s) + " ."; }
std::string paren(const std::string& s) { return "( " + capitalize_first(s) + " . )"; }

// --- paragraphs, each a list of sentences about one subject ----------------------------------------

std::string person_paragraph(PyRandom& rng, const Person& p) {
  const World& w = world();
  const Town& town = w.towns[p.town];
  const Tool& tool = w.tools[p.tool];
  const std::string he = pronoun(p), his = possessive(p);
  std::vector<std::string> s;  // finished sentences
  s.push_back(sentence(fmt::format("{} is a {} from {}", p.name, p.job, town.name)));
  s.push_back(sentence(fmt::format("{} works with a {} every day", he, tool.name)));
  switch (rng.randbelow(4)) {
    case 0:
      s.push_back(sentence(fmt::format("one {} {} , {} picked up the {}", rng.choice(kWeather), rng.choice(kTimes), p.name,
                                       tool.name)));
      s.push_back(sentence(fmt::format("{} {} {} with it", he, third_person(tool.verb), tool.object)));
      break;
    case 1:
      s.push_back(fmt::format("{} said , \" I will {} {} with my {} . \"", p.name, tool.verb, tool.object, tool.name));
      break;
    case 2:
      s.push_back(sentence(fmt::format("on {} , {} walked to {} with {} {}", rng.choice(kDays), he, town.river, his,
                                       tool.name)));
      s.push_back(paren(fmt::format("{} often goes there in the {}", p.name, rng.choice(kTimes))));
      break;
    default:
      s.push_back(sentence(fmt::format("{} picks up the {}", p.name, tool.name)));
      s.push_back(sentence(fmt::format("{} {} {} with it", he, third_person(tool.verb), tool.object)));
  }
  s.push_back(sentence(fmt::format("{} was {} and {} friends came to see {}", he, rng.choice(kFeelings), his,
                                   p.female ? "her" : "him")));
  if (rng.randbelow(2)) s.push_back(filler(rng, p.name));
  // Long-range: the person is named again at the end of the paragraph.
  s.push_back(sentence(fmt::format("in the {} , the children of {} waited at the door for {}", rng.choice(kTimes),
                                   town.name, p.name)));
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out;
}

std::string town_paragraph(PyRandom& rng, const Town& t) {
  const World& w = world();
  std::string out = sentence(fmt::format("{} is a town in the {}", t.name, t.region));
  out += " " + sentence(fmt::format("it lies on {} and was founded in {}", t.river, t.founded));
  out += " " + sentence(fmt::format("{} is known for its {}", t.name, t.product));
  for (int k = 0; k < 2; ++k) {
    const Person& p = pick_zipf(rng, w.people);
    if (w.towns[p.town].name == t.name)
      out += " " + sentence(fmt::format("{} , a {} , lives in {}", p.name, p.job, t.name));
  }
  if (rng.randbelow(2)) out += " " + paren(fmt::format("the {} of {} is sold in every market", t.product, t.name));
  if (rng.randbelow(2)) out += " " + filler(rng, "everyone");
  return out;
}

std::string animal_paragraph(PyRandom& rng, const Animal& a) {
  const World& w = world();
  std::string out = sentence(fmt::format("the {} is a {} that lives in {}", a.name, a.kind, a.habitat));
  out += " " + sentence(fmt::format("it eats {} and it {} at night", a.food, a.sound));
  out += " " + sentence(fmt::format("when it is hungry , the {} goes to {} to find {}", a.name, a.habitat, a.food));
  const Animal& other = pick_zipf(rng, w.animals);
  if (other.name != a.name)
    out += " " + sentence(fmt::format("unlike the {} , which lives in {} , the {} stays in {}", other.name, other.habitat,
                                      a.name, a.habitat));
  if (rng.randbelow(2))
    out += " " + paren(fmt::format("the {} is often seen near {}", a.name, pick_zipf(rng, w.towns).name));
  return out;
}

std::string tool_paragraph(PyRandom& rng, const Tool& t) {
  std::string out = sentence(fmt::format("a {} is a tool made of {}", t.name, t.material));
  out += " " + sentence(fmt::format("people use a {} to {} {}", t.name, t.verb, t.object));
  out += " " + sentence(fmt::format("to {} {} , you use a {}", t.verb, t.object, t.name));
  if (rng.randbelow(2)) out += " " + sentence(fmt::format("a good {} lasts for many years", t.name));
  return out;
}

// Quiz lines in the zero-shot prompt formats (PIQA / ARC / BoolQ style), one line each.
std::vector<std::string> quiz_lines(PyRandom& rng) {
  const World& w = world();
  std::vector<std::string> lines;
  const Animal& a = pick_zipf(rng, w.animals);
  const Tool& t = pick_zipf(rng, w.tools);
  const Town& town = pick_zipf(rng, w.towns);
  const Animal& b = pick_zipf(rng, w.animals);
  switch (rng.randbelow(5)) {
    case 0: lines = {fmt::format("Question: Where does the {} live?", a.name), fmt::format("Answer: {}", a.habitat)}; break;
    case 1: lines = {fmt::format("Question: What does the {} eat?", a.name), fmt::format("Answer: {}", a.food)}; break;
    case 2: lines = {fmt::format("Question: To {} {}", t.verb, t.object), fmt::format("Answer: use a {}", t.name)}; break;
    case 3: lines = {fmt::format("Question: What is the {} made of?", t.name), fmt::format("Answer: {}", t.material)}; break;
    default: {
      // As the BoolQ task: a passage, then a yes/no question that is true half of the time.
      const bool truth = rng.randbelow(2) == 0;
      const std::string asked = truth ? b.habitat : (a.habitat != b.habitat ? a.habitat : town.river);
      lines = {fmt::format("The {} is a {} that lives in {} . It eats {} and it {} at night .", b.name, b.kind, b.habitat,
                           b.food, b.sound),
               fmt::format("Question: does the {} live in {}?", b.name, asked), fmt::format("Answer: {}", truth ? "yes" : "no")};
    }
  }
  return lines;
}

std::string article(PyRandom& rng) {
  const World& w = world();
  std::vector<std::string> paras;
  std::string title;
  switch (rng.randbelow(4)) {
    case 0: {
      const Person& p = pick_zipf(rng, w.people);
      title = p.name;
      for (int k = 0; k < 2 + rng.randbelow(2); ++k) paras.push_back(person_paragraph(rng, p));
      break;
    }
    case 1: {
      const Town& t = pick_zipf(rng, w.towns);
      title = t.name;
      paras.push_back(town_paragraph(rng, t));
      paras.push_back("= = People = =");
      for (const auto& p : w.people)
        if (w.towns[p.town].name == t.name) paras.push_back(person_paragraph(rng, p));
      break;
    }
    case 2: {
      const Animal& a = pick_zipf(rng, w.animals);
      title = capitalize_first(a.name);
      paras.push_back(animal_paragraph(rng, a));
      paras.push_back(animal_paragraph(rng, a));
      break;
    }
    default: {
      const Tool& t = pick_zipf(rng, w.tools);
      title = capitalize_first(t.name);
      paras.push_back(tool_paragraph(rng, t));
      paras.push_back("= = Use = =");
      for (const auto& p : w.people)
        if (w.tools[p.tool].name == t.name) paras.push_back(person_paragraph(rng, p));
    }
  }
  // WikiText raw layout: every line starts with a space, headings and paragraphs separated by " \n".
  std::string out = fmt::format(" \n = {} = \n \n", title);
  for (const auto& p : paras) out += " " + (p.rfind("= =", 0) == 0 ? p : with_whitespace_noise(rng, p)) + " \n \n";
  if (rng.randbelow(3) == 0) {
    out += " = = Questions = = \n \n";
    for (int k = 0; k < 3; ++k) {
      for (const auto& line : quiz_lines(rng)) out += line + "\n";
      out += " \n";
    }
  }
  return out;
}

}  // namespace

size_t zipf_index(PyRandom& rng, size_t n) {
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += 1.0 / static_cast<double>(i + 1);
  double u = rng.random() * total;
  for (size_t i = 0; i < n; ++i) {
    u -= 1.0 / static_cast<double>(i + 1);
    if (u < 0) return i;
  }
  return n - 1;
}

std::string third_person(const std::string& v) {
  const auto ends = [&](const char* s) { return v.size() >= std::string(s).size() && v.compare(v.size() - std::string(s).size(), std::string::npos, s) == 0; };
  if (ends("ch") || ends("sh") || ends("s") || ends("x")) return v + "es";
  if (ends("y") && v.size() > 1 && std::string("aeiou").find(v[v.size() - 2]) == std::string::npos)
    return v.substr(0, v.size() - 1) + "ies";
  return v + "s";
}

std::string capitalize_first(const std::string& s) {
  std::string out = s;
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string generate_wikitext(uint64_t seed, size_t target_chars) {
  PyRandom rng(static_cast<int64_t>(seed));
  std::string out;
  while (out.size() < target_chars) out += article(rng);
  return out;
}

std::vector<std::string> generate_web_documents(uint64_t seed, size_t count) {
  PyRandom rng(static_cast<int64_t>(seed));
  const World& w = world();
  std::vector<std::string> docs;
  for (size_t d = 0; d < count; ++d) {
    // A third of the pages are long (several thousand characters), as C4 has long pages among short ones.
    const int paragraphs = rng.randbelow(3) == 0 ? 12 + static_cast<int>(rng.randbelow(10)) : 1 + static_cast<int>(rng.randbelow(4));
    std::string doc;
    for (int k = 0; k < paragraphs; ++k) {
      std::string para;
      switch (rng.randbelow(4)) {
        case 0: para = person_paragraph(rng, pick_zipf(rng, w.people)); break;
        case 1: para = town_paragraph(rng, pick_zipf(rng, w.towns)); break;
        case 2: para = animal_paragraph(rng, pick_zipf(rng, w.animals)); break;
        default: para = tool_paragraph(rng, pick_zipf(rng, w.tools));
      }
      doc += (doc.empty() ? "" : "\n") + with_whitespace_noise(rng, para);
    }
    docs.push_back(doc);
  }
  return docs;
}

}  // namespace ptq::tiny
