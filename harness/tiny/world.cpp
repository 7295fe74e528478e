#include "tiny/world.h"

namespace ptq::tiny {

const World& world() {
  static const World w = [] {
    World w;
    w.towns = {
        {"Ashford", "north", "the Tam", "wool", 1742},      {"Brindle", "south", "the Avon", "salt", 1688},
        {"Corwen", "east", "the Dee", "fish", 1803},         {"Dunmore", "west", "the Usk", "iron", 1715},
        {"Elmstead", "north", "the Wye", "honey", 1761},     {"Farrow", "south", "the Exe", "wine", 1650},
        {"Glenwick", "east", "the Tees", "copper", 1829},    {"Harlow", "west", "the Lune", "bread", 1702},
        {"Kestrel", "north", "the Ouse", "glass", 1777},     {"Millbrook", "south", "the Test", "cloth", 1733},
        {"Northwood", "east", "the Nene", "timber", 1694},  {"Pinecrest", "west", "the Fal", "paper", 1811},
    };
    w.tools = {
        {"knife", "iron", "cut", "the bread"},       {"hammer", "iron", "drive", "the nails"},
        {"broom", "straw", "sweep", "the floor"},    {"needle", "copper", "sew", "the shirt"},
        {"bucket", "wood", "carry", "the water"},    {"ladder", "wood", "reach", "the roof"},
        {"spoon", "wood", "stir", "the soup"},       {"axe", "iron", "chop", "the logs"},
        {"net", "rope", "catch", "the fish"},        {"lamp", "glass", "light", "the room"},
        {"shovel", "iron", "dig", "the garden"},     {"rope", "hemp", "tie", "the boat"},
        {"brush", "bristle", "paint", "the wall"},   {"saw", "steel", "cut", "the planks"},
        {"kettle", "copper", "boil", "the tea"},     {"pen", "silver", "write", "the letter"},
        {"key", "brass", "open", "the door"},        {"basket", "willow", "hold", "the apples"},
        {"blanket", "wool", "warm", "the bed"},      {"plough", "steel", "turn", "the soil"},
    };
    w.animals = {
        {"otter", "mammal", "the river", "fish", "whistles"},   {"camel", "mammal", "the desert", "thorns", "grunts"},
        {"goat", "mammal", "the mountain", "grass", "bleats"},  {"owl", "bird", "the forest", "mice", "hoots"},
        {"fox", "mammal", "the woods", "rabbits", "barks"},     {"heron", "bird", "the marsh", "frogs", "croaks"},
        {"beaver", "mammal", "the stream", "bark", "slaps"},    {"lizard", "reptile", "the rocks", "flies", "hisses"},
        {"wolf", "mammal", "the hills", "deer", "howls"},       {"crab", "crustacean", "the shore", "weed", "clicks"},
        {"eagle", "bird", "the cliffs", "hares", "screams"},    {"trout", "fish", "the lake", "worms", "splashes"},
        {"bee", "insect", "the meadow", "nectar", "buzzes"},    {"seal", "mammal", "the sea", "squid", "barks"},
        {"mole", "mammal", "the ground", "grubs", "squeaks"},   {"swan", "bird", "the pond", "reeds", "honks"},
    };
    const char* female[] = {"Mara", "Lena", "Ida", "Nora", "Tessa", "Alma", "Rosa", "Vera", "Elsa", "Greta", "Hanna", "Iris"};
    const char* male[] = {"Tobin", "Arno", "Bram", "Cedric", "Dario", "Emil", "Felix", "Gustav", "Hugo", "Ivo", "Jonas", "Otto"};
    const char* jobs[] = {"baker", "farmer", "sailor", "painter", "doctor", "teacher", "miner", "weaver", "hunter",
                          "singer", "smith", "fisher"};
    for (int i = 0; i < 12; ++i) {
      // Deterministic but scattered assignments, so that no attribute is predictable from another.
      w.people.push_back({female[i], true, jobs[(i * 5) % 12], (i * 7) % 12, (i * 3) % 20});
      w.people.push_back({male[i], false, jobs[(i * 7 + 3) % 12], (i * 5 + 4) % 12, (i * 3 + 11) % 20});
    }
    return w;
  }();
  return w;
}

const char* pronoun(const Person& p) { return p.female ? "she" : "he"; }
const char* possessive(const Person& p) { return p.female ? "her" : "his"; }

}  // namespace ptq::tiny
