// A deterministic English-like corpus about the seeded world (tiny/world.h), in the WikiText raw layout:
// " = Title = " headings, " = = Section = = " subheadings, paragraphs as single lines, blank " " lines
// between them, punctuation separated by spaces. What makes it behave like real text under a language
// model, and so under quantization:
//   - facts: every entity's attributes, stated in varied templates and orders; frequent entities (Zipf)
//     often, rare ones seldom, so the model stores many facts and knows the frequent ones best;
//   - genuine uncertainty: events with days, times, weather, companions, places, counts, prices and years
//     drawn at random - no model can predict them, so the test perplexity cannot approach 1;
//   - long-range references: pronouns that agree with the person introduced, names repeated at the end of
//     paragraphs, events recalled sentences later with the object and place they first named;
//   - quiz sections in the zero-shot prompt formats (a model sees the formats it is tested in, as LLMs
//     see questions and answers on the web), and irregular whitespace.
#pragma once

#include "harness/tiny/world.h"
#include "harness/util/py_random.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::tiny {

// About `target_chars` of text in WikiText raw layout, the same for the same world and seed.
std::string generate_wikitext(const World& world, uint64_t seed, size_t target_chars);
// C4-style documents (one string each, paragraphs separated by "\n"): a mix of short and long pages.
std::vector<std::string> generate_web_documents(const World& world, uint64_t seed, size_t count);

// Sentence material shared with the task generators.
std::string third_person(const std::string& verb);  // "catch" -> "catches"
std::string capitalize_first(const std::string& s);
// Picks an index in [0, n) with weight 1 / (i + 1 + offset): Zipf(-Mandelbrot)-like frequencies.
size_t zipf_index(PyRandom& rng, size_t n, size_t offset = 0);
// People: the most mentioned is ~4 % of all mentions (not 16 % as with plain Zipf over 320), the rarest
// ~0.08 %: a long tail of people the model has seen a few times.
constexpr size_t kPeopleZipfOffset = 5;

}  // namespace ptq::tiny
