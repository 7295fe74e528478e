// The world the embedded default model learns about, drawn from a seed: a few hundred people, dozens of
// towns, animals and tools, each with attributes drawn at random - so that no fact follows from another
// and the model can only know a fact by having stored it in its weights (the "knowledge" whose loss makes
// real LLMs degrade under quantization). The corpus states these facts in varied sentences, frequent
// entities (Zipf-like) far more often than rare ones; the zero-shot tasks ask about them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::tiny {

struct Person {
  std::string name;
  bool female;
  int job;   // index into World::jobs
  int town;  // index into World::towns
  int tool;  // index into World::tools: what the person works with
  int pet;   // index into World::animals
  int age;
};

struct Town {
  std::string name;
  int region, river, product;  // indices into World::regions / rivers / products
  int founded;                 // year
};

struct Animal {
  std::string name;              // "otter"
  int kind, habitat, food, sound;  // indices into World::kinds / habitats / foods / sounds
};

struct Tool {
  std::string name;    // "knife"
  int material;        // index into World::materials
  std::string verb;    // "cut"
  std::string object;  // "the bread": a tool is used to <verb> <object> (the one commonsense pairing kept)
};

struct World {
  std::vector<Person> people;  // in Zipf rank order: people[0] is mentioned most
  std::vector<Town> towns;
  std::vector<Animal> animals;
  std::vector<Tool> tools;
  std::vector<std::string> jobs, regions, rivers, products, kinds, habitats, foods, sounds, materials;
};

struct WorldSize {
  int people = 320;
  int towns = 64;
};

// The same world for the same seed and size.
World build_world(uint64_t seed, const WorldSize& size = {});

// "she"/"he", "her"/"his", "her"/"him".
const char* pronoun(const Person& p);
const char* possessive(const Person& p);
const char* object_pronoun(const Person& p);

}  // namespace ptq::tiny
