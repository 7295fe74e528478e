#include "harness/tiny/world.h"

#include "harness/util/py_random.h"

#include <algorithm>
#include <set>

namespace ptq::tiny {

namespace {

// Name parts: combinations give hundreds of distinct names that the tokenizer splits into pieces, as rare
// names are in real vocabularies.
const std::vector<std::string> kFirstOnsets = {"Ma", "Le", "I", "No", "Te", "Al", "Ro", "Ve", "El", "Gre", "Ha", "Ta",
                                               "Bra", "Ce", "Da", "E", "Fe", "Gu", "Hu", "Jo", "O", "Ka", "Li", "Mi",
                                               "Ne", "Pe", "Ri", "Sa", "Si", "To", "Vi", "Wi"};
const std::vector<std::string> kFirstEnds = {"ra", "na", "da", "lia", "ssa", "ma", "sa", "ta", "bin", "no", "mon", "ric",
                                             "rio", "mil", "lix", "go", "vo", "nas", "tto", "ren", "dan", "las"};
const std::vector<std::string> kTownStarts = {"Ash", "Brin", "Cor", "Dun", "Elm", "Far", "Glen", "Har", "Kes", "Mill",
                                              "North", "Pine", "Red", "Stone", "Oak", "Fox", "Lin", "Bar", "West",
                                              "Black", "Green", "High", "Long", "Salt"};
const std::vector<std::string> kTownEnds = {"ford", "dle", "wen", "more", "stead", "row", "wick", "low", "brook",
                                            "wood", "crest", "ton", "ham", "by", "field", "mouth"};

std::vector<std::string> distinct_combinations(PyRandom& rng, const std::vector<std::string>& a,
                                               const std::vector<std::string>& b, size_t n) {
  std::vector<std::string> all;
  for (const auto& x : a)
    for (const auto& y : b) all.push_back(x + y);
  rng.shuffle(all);
  all.resize(std::min(n, all.size()));
  return all;
}

int pick(PyRandom& rng, const std::vector<std::string>& v) { return static_cast<int>(rng.randbelow(static_cast<int64_t>(v.size()))); }

void fill_vocabularies(World& w) {
  w.jobs = {"baker", "farmer", "sailor", "painter", "doctor", "teacher", "miner", "weaver", "hunter", "singer", "smith",
            "fisher", "potter", "tailor", "carpenter", "brewer", "mason", "clerk", "cook", "gardener", "shepherd",
            "butcher", "builder", "merchant"};
  w.regions = {"north", "south", "east", "west", "hills", "valley", "coast", "plain"};
  w.rivers = {"the Tam", "the Avon", "the Dee", "the Usk", "the Wye", "the Exe", "the Tees", "the Lune", "the Ouse",
              "the Test", "the Nene", "the Fal", "the Aire", "the Calder", "the Eden", "the Kent", "the Otter",
              "the Severn", "the Trent", "the Tyne", "the Wear", "the Yare", "the Colne", "the Derwent"};
  w.products = {"wool", "salt", "fish", "iron", "honey", "wine", "copper", "bread", "glass", "cloth", "timber",
                "paper", "cheese", "leather", "silk", "pottery", "apples", "beer", "rope", "candles", "soap", "tin",
                "lace", "clocks"};
  w.kinds = {"mammal", "bird", "reptile", "fish", "insect"};
  w.habitats = {"the river", "the desert", "the mountain", "the forest", "the woods", "the marsh", "the stream",
                "the rocks", "the hills", "the shore", "the cliffs", "the lake", "the meadow", "the sea",
                "the ground", "the pond", "the caves", "the fields", "the reeds", "the moor"};
  w.foods = {"fish", "thorns", "grass", "mice", "rabbits", "frogs", "bark", "flies", "deer", "weed", "hares", "worms",
             "nectar", "squid", "grubs", "reeds", "berries", "seeds", "snails", "beetles", "roots", "eggs", "nuts",
             "leaves"};
  w.sounds = {"whistles", "grunts", "bleats", "hoots", "barks", "croaks", "hisses", "howls", "clicks", "screams",
              "buzzes", "squeaks", "honks", "chirps"};
  w.materials = {"iron", "straw", "copper", "wood", "rope", "glass", "hemp", "bristle", "steel", "silver", "brass",
                 "willow", "wool", "bone", "stone", "tin"};
}

std::vector<Animal> draw_animals(PyRandom& rng, const World& w) {
  const std::vector<std::string> names = {
      "otter", "camel", "goat", "owl", "fox", "heron", "beaver", "lizard", "wolf", "crab", "eagle", "trout", "bee",
      "seal", "mole", "swan", "badger", "hedgehog", "stoat", "raven", "crow", "toad", "newt", "salmon", "pike", "moth",
      "beetle", "hare", "deer", "boar", "lynx", "bat", "wren", "robin", "gull", "eel", "snail", "ant", "weasel", "ox"};
  std::vector<Animal> out;
  for (const auto& n : names) out.push_back({n, pick(rng, w.kinds), pick(rng, w.habitats), pick(rng, w.foods), pick(rng, w.sounds)});
  rng.shuffle(out);  // the Zipf rank order
  return out;
}

std::vector<Tool> draw_tools(PyRandom& rng, const World& w) {
  const std::vector<std::vector<std::string>> uses = {
      {"knife", "cut", "the bread"},     {"hammer", "drive", "the nails"},   {"broom", "sweep", "the floor"},
      {"needle", "sew", "the shirt"},    {"bucket", "carry", "the water"},   {"ladder", "reach", "the roof"},
      {"spoon", "stir", "the soup"},     {"hatchet", "chop", "the logs"},        {"net", "catch", "the fish"},
      {"lamp", "light", "the room"},     {"shovel", "dig", "the garden"},    {"rope", "tie", "the boat"},
      {"brush", "paint", "the wall"},    {"saw", "cut", "the planks"},       {"kettle", "boil", "the tea"},
      {"pen", "write", "the letter"},    {"key", "open", "the door"},        {"basket", "hold", "the apples"},
      {"blanket", "warm", "the bed"},    {"plough", "turn", "the soil"},     {"scythe", "mow", "the hay"},
      {"chisel", "carve", "the stone"},  {"comb", "comb", "the wool"},       {"paddle", "row", "the boat"},
      {"sieve", "sift", "the flour"},    {"bellows", "blow", "the fire"},    {"trowel", "lay", "the bricks"},
      {"ledger", "count", "the money"},  {"whistle", "call", "the dogs"},    {"sponge", "wash", "the cups"}};
  std::vector<Tool> out;
  for (const auto& u : uses) out.push_back({u[0], pick(rng, w.materials), u[1], u[2]});
  rng.shuffle(out);
  return out;
}

}  // namespace

World build_world(uint64_t seed, const WorldSize& size) {
  PyRandom rng(static_cast<int64_t>(seed));
  World w;
  fill_vocabularies(w);
  for (const auto& name : distinct_combinations(rng, kTownStarts, kTownEnds, static_cast<size_t>(size.towns)))
    w.towns.push_back({name, pick(rng, w.regions), pick(rng, w.rivers), pick(rng, w.products),
                       static_cast<int>(rng.randint(1500, 1899))});
  w.animals = draw_animals(rng, w);
  w.tools = draw_tools(rng, w);
  for (const auto& name : distinct_combinations(rng, kFirstOnsets, kFirstEnds, static_cast<size_t>(size.people))) {
    Person p;
    p.name = name;
    p.female = rng.randbelow(2) == 0;  // drawn, not implied by the name
    p.job = pick(rng, w.jobs);
    p.town = static_cast<int>(rng.randbelow(static_cast<int64_t>(w.towns.size())));
    p.tool = static_cast<int>(rng.randbelow(static_cast<int64_t>(w.tools.size())));
    p.pet = static_cast<int>(rng.randbelow(static_cast<int64_t>(w.animals.size())));
    p.age = static_cast<int>(rng.randint(18, 89));
    w.people.push_back(p);
  }
  return w;
}

const char* pronoun(const Person& p) { return p.female ? "she" : "he"; }
const char* possessive(const Person& p) { return p.female ? "her" : "his"; }
const char* object_pronoun(const Person& p) { return p.female ? "her" : "him"; }

}  // namespace ptq::tiny
