// The small fixed world the embedded default model learns about: people, towns, animals and tools, each
// with a few attributes. The corpus states these facts again and again in varied sentences; the zero-shot
// tasks ask about them, so a model trained on the corpus answers better than chance.
#pragma once

#include <string>
#include <vector>

namespace ptq::tiny {

struct Person {
  std::string name;
  bool female;
  std::string job;   // "baker"
  int town;          // index into towns
  int tool;          // index into tools: what the person works with
};

struct Town {
  std::string name;
  std::string region;   // "north"
  std::string river;    // "the Tam"
  std::string product;  // "wool"
  int founded;          // year
};

struct Animal {
  std::string name;     // "otter"
  std::string kind;     // "mammal"
  std::string habitat;  // "the river"
  std::string food;     // "fish"
  std::string sound;    // "whistles"
};

struct Tool {
  std::string name;      // "knife"
  std::string material;  // "iron"
  std::string verb;      // "cut"
  std::string object;    // "the bread": tools are used to <verb> <object>
};

struct World {
  std::vector<Person> people;
  std::vector<Town> towns;
  std::vector<Animal> animals;
  std::vector<Tool> tools;
};

const World& world();

// "she"/"he", "her"/"his".
const char* pronoun(const Person& p);
const char* possessive(const Person& p);

}  // namespace ptq::tiny
