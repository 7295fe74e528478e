// A deterministic English-like corpus about the fixed world (tiny/world.h), in the WikiText raw layout:
// " = Title = " headings, " = = Section = = " subheadings, paragraphs as single lines, blank " " lines
// between them, punctuation separated by spaces. Frequencies are Zipf-like (some people, towns and
// animals are much more common than others); people are introduced by name and referred to by pronouns
// that agree with them, re-named later in the paragraph (long-range dependencies), and quotes and
// brackets are always matched. Quiz lines in the prompt formats of the zero-shot tasks appear too.
#pragma once

#include "run/py_random.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::tiny {

// About `target_chars` of text in WikiText raw layout, the same for the same seed.
std::string generate_wikitext(uint64_t seed, size_t target_chars);
// C4-style documents (one string each, paragraphs separated by "\n"): a mix of short and long pages.
std::vector<std::string> generate_web_documents(uint64_t seed, size_t count);

// Sentence material shared with the task generators.
std::string third_person(const std::string& verb);  // "catch" -> "catches"
std::string capitalize_first(const std::string& s);
// Picks an index in [0, n) with weight 1 / (i + 1): Zipf-like frequencies.
size_t zipf_index(PyRandom& rng, size_t n);

}  // namespace ptq::tiny
