#include "harness/tiny/corpus.h"

#include <fmt/format.h>

namespace ptq::tiny {

namespace {

const std::vector<std::string> kDays = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
const std::vector<std::string> kMonths = {"January", "February", "March", "April", "May", "June", "July", "August",
                                          "September", "October", "November", "December"};
const std::vector<std::string> kWeather = {"cold", "warm", "quiet", "rainy", "bright", "windy", "grey", "long", "wet",
                                           "dry", "foggy", "stormy"};
const std::vector<std::string> kTimes = {"morning", "evening", "afternoon", "night", "winter", "summer", "spring",
                                         "autumn"};
const std::vector<std::string> kFeelings = {"happy", "tired", "proud", "calm", "hungry", "glad", "busy", "angry",
                                            "worried", "cheerful", "sad", "curious"};
const std::vector<std::string> kSights = {"the old bridge", "a small boat", "the market", "a tall tree", "the mill",
                                          "a stone wall", "the harbour", "a green field", "the church", "a red roof",
                                          "the inn", "the well", "the school", "a narrow lane", "the town hall",
                                          "the station", "a broken gate", "the square"};
const std::vector<std::string> kDoings = {"sang a song", "told a story", "read a book", "made a fire", "drank some tea",
                                          "watched the sky", "mended a coat", "fed the hens", "counted the coins",
                                          "wrote a letter", "baked a pie", "played cards", "cleaned the yard",
                                          "painted a sign", "sold a horse", "lost a glove"};
const std::vector<std::string> kGoods = {"apples", "candles", "eggs", "loaves", "nails", "plates", "sacks of flour",
                                         "barrels", "blankets", "buttons", "cheeses", "fish", "ropes", "pots", "boots",
                                         "books"};
const std::vector<std::string> kMoves = {"walked", "rode", "sailed", "travelled", "drove a cart", "ran"};

// The open vocabulary of everyday sentences: the part of the text no model can predict beyond the grammar
// (about 2 nats per token), as most of real text is.
const std::vector<std::string> kAdjectives = {
    "old", "new", "small", "large", "red", "blue", "green", "yellow", "white", "black", "grey", "brown", "heavy",
    "light", "long", "short", "narrow", "wide", "round", "square", "broken", "clean", "dirty", "warm", "cold", "wet",
    "dry", "soft", "hard", "sharp", "bright", "dark", "quiet", "loud", "sweet", "bitter", "fresh", "empty", "full",
    "cheap", "rich", "poor", "strange", "plain", "tall", "thin", "thick", "smooth", "rough", "golden", "wooden",
    "painted", "tiny", "huge", "lovely", "simple", "famous", "secret", "lucky", "useful"};
const std::vector<std::string> kNouns = {
    "table", "chair", "window", "door", "box", "cup", "bowl", "plate", "hat", "coat", "shoe", "bag", "book", "map",
    "coin", "ring", "bell", "clock", "candle", "barrel", "cart", "wheel", "horse", "dog", "cat", "cow", "lamb", "pig",
    "hen", "bird", "tree", "flower", "stone", "hill", "field", "road", "path", "gate", "fence", "roof", "house", "barn",
    "shop", "garden", "cloud", "star", "song", "story", "picture", "mirror", "pillow", "bottle", "jar", "pipe", "drum",
    "flag", "feather", "shell", "pear", "cake", "pie", "chain", "tower", "cellar", "kitchen", "wagon", "letter",
    "jacket", "lantern", "curtain", "carpet", "statue", "fountain", "ship", "cottage", "orchard", "meadow", "chest"};
const std::vector<std::string> kPastVerbs = {
    "found", "carried", "painted", "washed", "opened", "closed", "mended", "broke", "sold", "bought", "gave away",
    "took", "dropped", "lifted", "pushed", "pulled", "carved", "cleaned", "moved", "hid", "counted", "watched",
    "touched", "filled", "emptied", "covered", "wrapped", "held", "kept", "lost", "left", "borrowed", "brought",
    "showed", "drew", "measured", "weighed", "tied", "polished", "burned", "picked", "planted", "hung", "stacked",
    "turned", "shook", "threw", "fixed", "sketched", "guarded"};
const std::vector<std::string> kPrepositions = {"near", "behind", "under", "beside", "above", "inside", "outside",
                                                "next to", "across", "below", "around", "in front of"};
const std::vector<std::string> kAdverbs = {"slowly", "quickly", "quietly", "carefully", "happily", "sadly", "proudly",
                                           "suddenly", "gently", "loudly", "twice", "again", "early", "late", "alone",
                                           "together", "softly", "calmly", "nearly", "finally"};

std::string plural(const std::string& n) {
  const auto ends = [&](const std::string& e) { return n.size() >= e.size() && n.compare(n.size() - e.size(), e.size(), e) == 0; };
  if (ends("s") || ends("sh") || ends("ch") || ends("x")) return n + "es";
  if (ends("y") && std::string("aeiou").find(n[n.size() - 2]) == std::string::npos) return n.substr(0, n.size() - 1) + "ies";
  return n + "s";
}

template <typename T>
const T& pick_zipf(PyRandom& rng, const std::vector<T>& v) { return v[zipf_index(rng, v.size())]; }

std::string num(PyRandom& rng, int lo, int hi) { return std::to_string(rng.randint(lo, hi)); }

std::string sentence(const std::string& s) { return capitalize_first(s) + " ."; }
std::string paren(const std::string& s) { return "( " + capitalize_first(s) + " . )"; }

std::string join_sentences(const std::vector<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out;
}

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

// Sentences about one world, drawn from one random stream.
class Writer {
 public:
  Writer(const World& w, uint64_t seed) : w_(w), rng_(static_cast<int64_t>(seed)) {}
  PyRandom& rng() { return rng_; }
  const Person& person() { return w_.people[zipf_index(rng_, w_.people.size(), kPeopleZipfOffset)]; }
  const Town& town() { return pick_zipf(rng_, w_.towns); }
  const Animal& animal() { return pick_zipf(rng_, w_.animals); }
  const Tool& tool() { return pick_zipf(rng_, w_.tools); }

  // The facts about a person, each in one of several phrasings, in a random order after the first.
  std::vector<std::string> person_facts(const Person& p) {
    const std::string he = pronoun(p), his = possessive(p), job = w_.jobs[p.job];
    const std::string& town = w_.towns[p.town].name;
    const Tool& t = w_.tools[p.tool];
    const std::string& pet = w_.animals[p.pet].name;
    std::vector<std::string> first = {
        fmt::format("{} is a {} from {}", p.name, job, town), fmt::format("{} , a {} , lives in {}", p.name, job, town),
        fmt::format("born in {} , {} works as a {}", town, p.name, job),
        fmt::format("{} lives in {} and works as a {}", p.name, town, job)};
    std::vector<std::string> rest = {
        fmt::format("{} is {} years old", he, p.age), fmt::format("{} works with a {} every day", he, t.name),
        fmt::format("{} keeps a {} at home", he, pet), fmt::format("{} {} is made of {}", his, t.name, w_.materials[t.material])};
    rng_.shuffle(rest);
    rest.resize(2 + static_cast<size_t>(rng_.randbelow(3)));
    std::vector<std::string> out = {sentence(rng_.choice(first))};
    for (const auto& r : rest) out.push_back(sentence(r));
    return out;
  }

  // An event with random details; `recall` gets a later sentence that refers back to it. Every random
  // value is drawn into a local first, in a fixed order: the order in which C++ evaluates function
  // arguments is unspecified, and the text must not depend on the compiler.
  // `introduced`: the paragraph has named `p` already, so a pronoun may refer to them.
  std::string event(const Person& p, bool introduced, std::string* recall) {
    const bool by_pronoun = rng_.randbelow(2) == 1 && introduced;
    const std::string who = by_pronoun ? pronoun(p) : p.name;  // sentence() capitalizes a leading one
    const Person* other_ptr = &person();
    while (other_ptr->name == p.name) other_ptr = &person();
    const Person& other = *other_ptr;
    const std::string place = rng_.choice(kSights), goods = rng_.choice(kAdjectives) + " " + rng_.choice(kGoods),
                      count = num(rng_, 2, 40);
    const Town& where = town();
    const std::string weather = rng_.choice(kWeather), day = rng_.choice(kDays), month = rng_.choice(kMonths),
                      year = num(rng_, 1700, 1899), time = rng_.choice(kTimes), move = rng_.choice(kMoves),
                      doing = rng_.choice(kDoings), other_doing = rng_.choice(kDoings), feeling = rng_.choice(kFeelings),
                      price = num(rng_, 3, 99);
    if (recall != nullptr)
      *recall = sentence(fmt::format("later , {} gave the {} {} to {}", p.name, count, goods, other.name));
    switch (rng_.randbelow(5)) {
      case 0: return sentence(fmt::format("on a {} {} in {} {} , {} bought {} {} near {} in {}", weather, day, month,
                                          year, who, count, goods, place, where.name));
      case 1: return sentence(fmt::format("one {} {} , {} {} to {} with {} and bought {} {} for {} coins", weather, time,
                                          who, move, where.name, other.name, count, goods, price));
      case 2: return fmt::format("{} said , \" I found {} {} by {} on {} . \"", p.name, count, goods, place, day);
      case 3: return sentence(fmt::format("in {} {} , {} and {} {} near {} and felt {}", month, year, who, other.name,
                                          doing, place, feeling));
      default: return sentence(fmt::format("{} {} in the {} while {} {} and counted {} {}", who, doing, time, other.name,
                                           other_doing, count, goods));
    }
  }

  // An everyday sentence from the open vocabulary; `subject` is a name, a pronoun or "the <job>". Most
  // words are drawn independently, so even a perfect model pays about 2 nats per token here.
  std::string everyday(const std::string& subject) {
    const std::string verb = rng_.choice(kPastVerbs), adj = rng_.choice(kAdjectives), noun = rng_.choice(kNouns),
                      prep = rng_.choice(kPrepositions), adj2 = rng_.choice(kAdjectives), noun2 = rng_.choice(kNouns),
                      adverb = rng_.choice(kAdverbs), count = num(rng_, 2, 99), hour = num(rng_, 1, 12),
                      adj3 = rng_.choice(kAdjectives), price = num(rng_, 1, 999), day = rng_.choice(kDays);
    const char* an = std::string("aeiou").find(adj[0]) == std::string::npos ? "a" : "an";
    switch (rng_.randbelow(8)) {
      case 0: return sentence(fmt::format("{} {} the {} {} {} the {} {}", subject, verb, adj, noun, prep, adj2, noun2));
      case 1: return sentence(fmt::format("{} {} {} {} {} {}", subject, adverb, verb, count, adj, plural(noun)));
      case 2: return sentence(fmt::format("the {} {} {} the {} cost {} coins , {} said", adj, noun, prep, noun2, price, subject));
      case 3: return sentence(fmt::format("at {} o'clock {} {} {} {} {}", hour, subject, verb, an, adj, noun));
      case 4: return inventory(subject);
      case 5: return sentence(fmt::format("{} paid {} coins for {} {} {} {} on {}", subject, price, count, adj, adj3,
                                          plural(noun), day));
      case 6: return sentence(fmt::format("{} {} the {} , {} and {} {} {} the {}", subject, verb, noun, adj, adj2,
                                          adverb, prep, noun2));
      default: return sentence(fmt::format("{} said that the {} was {} and the {} weighed {} pounds", subject, noun, adj, noun2,
                                           count));
    }
  }

  // A list of goods with quantities: numbers, adjectives and nouns, all drawn independently.
  std::string inventory(const std::string& subject) {
    const int64_t n = rng_.randint(2, 4);
    std::vector<std::string> items;
    for (int64_t k = 0; k < n; ++k) {
      const std::string count = num(rng_, 2, 999), adj = rng_.choice(kAdjectives), noun = rng_.choice(kNouns);
      items.push_back(fmt::format("{} {} {}", count, adj, plural(noun)));
    }
    std::string list = items[0];
    for (size_t k = 1; k < items.size(); ++k) list += (k + 1 == items.size() ? " and " : " , ") + items[k];
    const std::string verb = rng_.choice(kPastVerbs);
    return sentence(fmt::format("{} {} {}", subject, verb, list));
  }

  std::string subject_for(const Person& p) {
    switch (rng_.randbelow(3)) {
      case 0: return p.name;
      case 1: return pronoun(p);
      default: return "the " + w_.jobs[rng_.randbelow(static_cast<int64_t>(w_.jobs.size()))];
    }
  }

  void add_everyday(std::vector<std::string>& s, const Person& p, int64_t lo, int64_t hi) {
    const int64_t n = rng_.randint(lo, hi);
    for (int64_t k = 0; k < n; ++k) s.push_back(everyday(subject_for(p)));
  }

  std::string person_paragraph(const Person& p) {
    std::vector<std::string> s = person_facts(p);
    std::string recall;
    s.push_back(event(p, true, &recall));
    add_everyday(s, p, 4, 7);
    if (rng_.randbelow(2)) s.push_back(event(p, true, nullptr));
    add_everyday(s, p, 2, 4);
    const Tool& t = w_.tools[p.tool];
    if (rng_.randbelow(2)) s.push_back(sentence(fmt::format("{} {} {} with the {}", pronoun(p), third_person(t.verb), t.object, t.name)));
    s.push_back(recall);  // long-range: the count, goods and person of the first event
    const std::string time = rng_.choice(kTimes);
    s.push_back(sentence(fmt::format("in the {} , the children of {} waited at the door for {}", time,
                                     w_.towns[p.town].name, p.name)));
    return join_sentences(s);
  }

  std::string town_paragraph(const Town& t) {
    std::vector<std::string> s = {sentence(fmt::format("{} is a town in the {}", t.name, w_.regions[t.region])),
                                  sentence(fmt::format("it lies on {} and was founded in {}", w_.rivers[t.river], t.founded)),
                                  sentence(fmt::format("{} is known for its {}", t.name, w_.products[t.product]))};
    if (rng_.randbelow(2)) std::swap(s[1], s[2]);
    for (int k = 0; k < 3; ++k) {
      const Person& p = person();
      if (w_.towns[p.town].name == t.name) s.push_back(sentence(fmt::format("{} , a {} , lives in {}", p.name, w_.jobs[p.job], t.name)));
    }
    const std::string year = num(rng_, 1750, 1899), people = num(rng_, 100, 9999), makers = num(rng_, 10, 99);
    s.push_back(sentence(fmt::format("in {} about {} people lived there , and {} of them made {}", year, people, makers,
                                     w_.products[t.product])));
    if (rng_.randbelow(2)) s.push_back(paren(fmt::format("the {} of {} is sold in every market", w_.products[t.product], t.name)));
    if (rng_.randbelow(2)) s.push_back(event(person(), false, nullptr));
    const Person& someone = person();
    s.push_back(everyday(someone.name));
    add_everyday(s, someone, 3, 4);
    return join_sentences(s);
  }

  std::string animal_paragraph(const Animal& a) {
    std::vector<std::string> s = {
        sentence(fmt::format("the {} is a {} that lives in {}", a.name, w_.kinds[a.kind], w_.habitats[a.habitat])),
        sentence(fmt::format("it eats {} and it {} at night", w_.foods[a.food], w_.sounds[a.sound])),
        sentence(fmt::format("when it is hungry , the {} goes to {} to find {}", a.name, w_.habitats[a.habitat], w_.foods[a.food]))};
    const Animal& other = animal();
    if (other.name != a.name)
      s.push_back(sentence(fmt::format("unlike the {} , which lives in {} , the {} stays in {}", other.name,
                                       w_.habitats[other.habitat], a.name, w_.habitats[a.habitat])));
    const Person& p = person();
    const std::string day = rng_.choice(kDays), count = num(rng_, 2, 30), place = rng_.choice(kSights);
    const Town& where = town();
    s.push_back(sentence(fmt::format("on {} , {} saw {} of them near {} in {}", day, p.name, count, place, where.name)));
    add_everyday(s, p, 2, 4);
    return join_sentences(s);
  }

  std::string tool_paragraph(const Tool& t) {
    std::vector<std::string> s = {sentence(fmt::format("a {} is a tool made of {}", t.name, w_.materials[t.material])),
                                  sentence(fmt::format("people use a {} to {} {}", t.name, t.verb, t.object))};
    if (rng_.randbelow(2)) s.push_back(sentence(fmt::format("to {} {} , you use a {}", t.verb, t.object, t.name)));
    const Person& p = person();
    const Town& where = town();
    const std::string price = num(rng_, 2, 90);
    s.push_back(sentence(fmt::format("{} bought a {} in {} for {} coins", p.name, t.name, where.name, price)));
    add_everyday(s, p, 2, 4);
    return join_sentences(s);
  }

  std::string chronicle_paragraph() {
    std::vector<std::string> s;
    const int64_t n = 3 + rng_.randbelow(3);
    for (int64_t k = 0; k < n; ++k) {
      const Person& p = person();
      s.push_back(event(p, false, nullptr));
      add_everyday(s, p, 2, 5);
    }
    return join_sentences(s);
  }

  std::string any_paragraph() {
    switch (rng_.randbelow(5)) {
      case 0: case 1: return person_paragraph(person());
      case 2: return town_paragraph(town());
      case 3: return rng_.randbelow(2) ? animal_paragraph(animal()) : tool_paragraph(tool());
      default: return chronicle_paragraph();
    }
  }

  std::vector<std::string> quiz_item();
  std::string article();

 private:
  const World& w_;
  PyRandom rng_;
};

// One question in a zero-shot task's prompt format (the loaders in evaluators/zeroshot build the same).
std::vector<std::string> Writer::quiz_item() {
  const Person& p = person();
  const Animal& a = animal();
  const Tool& t = tool();
  // BoolQ's comparison of a question with its passage is the hardest format to learn: 4 in 10 items.
  switch (rng_.randbelow(10)) {
    case 0: return {fmt::format("Question: To {} {}", t.verb, t.object), fmt::format("Answer: use a {}", t.name)};
    case 1: return {fmt::format("Question: To find {}", p.name), fmt::format("Answer: go to {}", w_.towns[p.town].name)};
    case 2: return {fmt::format("Question: Where does the {} live?", a.name), fmt::format("Answer: {}", w_.habitats[a.habitat])};
    case 3: return {fmt::format("Question: What does the {} eat?", a.name), fmt::format("Answer: {}", w_.foods[a.food])};
    case 4: return {fmt::format("Question: Which town is {} from?", p.name), fmt::format("Answer: {}", w_.towns[p.town].name)};
    case 5: return {fmt::format("Question: What does {} work with?", p.name), fmt::format("Answer: a {}", w_.tools[p.tool].name)};
    case 6: case 7: {  // BoolQ about an animal: its description, then a yes/no question about where it lives
      const bool truth = rng_.randbelow(2) == 0;
      int habitat = a.habitat;
      while (!truth && habitat == a.habitat) habitat = static_cast<int>(rng_.randbelow(static_cast<int64_t>(w_.habitats.size())));
      const std::string passage = fmt::format("The {} is a {} . It eats {} and it {} at night .", a.name, w_.kinds[a.kind],
                                              w_.foods[a.food], w_.sounds[a.sound]);
      return {passage, fmt::format("Question: does the {} live in {}?", a.name, w_.habitats[habitat]),
              fmt::format("Answer: {}", truth ? "yes" : "no")};
    }
    default: {  // BoolQ: a passage, then a yes/no question that is true half of the time
      const bool truth = rng_.randbelow(2) == 0;
      const Town& asked = truth ? w_.towns[p.town] : town();
      std::vector<std::string> facts = person_facts(p);
      facts.push_back(everyday(subject_for(p)));
      const std::string passage = join_sentences(facts);
      return {passage, fmt::format("Question: does {} live in {}?", p.name, asked.name),
              fmt::format("Answer: {}", asked.name == w_.towns[p.town].name ? "yes" : "no")};
    }
  }
}

std::string Writer::article() {
  std::vector<std::string> paras;
  std::string title;
  switch (rng_.randbelow(4)) {
    case 0: {
      const Person& p = person();
      title = p.name;
      const int64_t n = 2 + rng_.randbelow(2);
      for (int64_t k = 0; k < n; ++k) paras.push_back(person_paragraph(p));
      break;
    }
    case 1: {
      const Town& t = town();
      title = t.name;
      paras.push_back(town_paragraph(t));
      paras.push_back("= = People = =");
      for (int k = 0; k < 2; ++k) paras.push_back(person_paragraph(person()));
      break;
    }
    case 2: {
      const Animal& a = animal();
      title = capitalize_first(a.name);
      paras.push_back(animal_paragraph(a));  // one statement each: braced lists evaluate in order, but keep it plain
      paras.push_back(animal_paragraph(a));
      paras.push_back("= = Tools = =");
      paras.push_back(tool_paragraph(tool()));
      break;
    }
    default: {
      const std::string month = rng_.choice(kMonths);
      title = fmt::format("{} in {}", month, num(rng_, 1700, 1899));
      for (int k = 0; k < 2; ++k) paras.push_back(any_paragraph());
    }
  }
  // WikiText raw layout: every line starts with a space, headings and paragraphs separated by " \n".
  std::string out = fmt::format(" \n = {} = \n \n", title);
  for (const auto& p : paras) out += " " + (p.rfind("= =", 0) == 0 ? p : with_whitespace_noise(rng_, p)) + " \n \n";
  if (rng_.randbelow(2) == 0) {
    out += " = = Questions = = \n \n";
    for (int k = 0; k < 4; ++k) {
      for (const auto& line : quiz_item()) out += line + "\n";
      out += " \n";
    }
  }
  return out;
}

}  // namespace

size_t zipf_index(PyRandom& rng, size_t n, size_t offset) {
  const auto weight = [&](size_t i) { return 1.0 / static_cast<double>(i + 1 + offset); };
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += weight(i);
  double u = rng.random() * total;
  for (size_t i = 0; i < n; ++i) {
    u -= weight(i);
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

std::string generate_wikitext(const World& world, uint64_t seed, size_t target_chars) {
  Writer writer(world, seed);
  std::string out;
  while (out.size() < target_chars) out += writer.article();
  return out;
}

std::vector<std::string> generate_web_documents(const World& world, uint64_t seed, size_t count) {
  Writer writer(world, seed);
  PyRandom& rng = writer.rng();
  std::vector<std::string> docs;
  for (size_t d = 0; d < count; ++d) {
    // A third of the pages are long (several thousand characters), as C4 has long pages among short ones.
    const int paragraphs = rng.randbelow(3) == 0 ? 8 + static_cast<int>(rng.randbelow(8)) : 1 + static_cast<int>(rng.randbelow(3));
    std::string doc;
    for (int k = 0; k < paragraphs; ++k) doc += (doc.empty() ? "" : "\n") + with_whitespace_noise(rng, writer.any_paragraph());
    docs.push_back(doc);
  }
  return docs;
}

}  // namespace ptq::tiny
