// Mutation tests of the experiment-file and plan readers (issue #29). Every value of a real experiment
// file (experiments/examples/reference.json, which uses every key) and of the plan it expands to is
// replaced, one at a time, by hostile values (wrong types, huge and negative numbers, a 100 kB string,
// invalid UTF-8, a value nested 1 000 deep, ...), and every key is deleted once. The reader must accept
// the document or throw InputError with one line of bounded length: never another exception, never a
// message that echoes the whole value. The LibTorch-free readers are fuzzed (tests/fuzz); these need the
// method registry, so they are exercised here, deterministically, in the normal build.
#include "harness/run/experiment_spec.h"
#include "harness/run/plan.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

json nested(int depth) {
  json v = 1;
  for (int i = 0; i < depth; ++i) v = json::array({v});
  return v;
}

std::vector<json> hostile_values() {
  return {nullptr, true, -1, 0, 1e300, -1e300, std::numeric_limits<int64_t>::max(),
          std::numeric_limits<uint64_t>::max(), 0.5, "", std::string(100'000, 'x'),
          "${PTQ_SURELY_UNSET_VARIABLE}/x", "W4A16g999999999999", json::array(), json::object(),
          json::array({1, "a", nullptr}), json{{"unknown_key", 1}}, nested(1000)};
}

// (No invalid UTF-8 among them: it cannot reach these readers, the JSON parser refuses it first.)

// Every JSON pointer in `doc`, containers included (the root excepted).
void all_pointers(const json& doc, const json::json_pointer& at, std::vector<json::json_pointer>* out) {
  if (doc.is_object())
    for (const auto& [key, value] : doc.items()) {
      out->push_back(at / key);
      all_pointers(value, at / key, out);
    }
  else if (doc.is_array())
    for (size_t i = 0; i < doc.size(); ++i) {
      out->push_back(at / i);
      all_pointers(doc[i], at / i, out);
    }
}

// What a reader may do with a hostile document: accept it, or refuse it with one short line.
struct Outcome {
  int accepted = 0, refused = 0;
  std::vector<std::string> failures;  // other exceptions, multi-line or unbounded messages
};

void check_reader(const std::string& what, const std::function<void()>& read, Outcome* out) {
  try {
    read();
    ++out->accepted;
  } catch (const ptq::InputError& e) {
    ++out->refused;
    const std::string msg = e.what();
    if (msg.find('\n') != std::string::npos || msg.size() > 1500)
      out->failures.push_back(what + ": message of " + std::to_string(msg.size()) + " bytes: " + msg.substr(0, 300));
  } catch (const std::exception& e) {
    out->failures.push_back(what + ": not an InputError: " + std::string(e.what()).substr(0, 300));
  }
}

// Runs `read` on `doc` with each value replaced by each hostile value, and with each key deleted.
Outcome mutate_all(const json& doc, const std::function<void(const json&)>& read) {
  std::vector<json::json_pointer> pointers;
  all_pointers(doc, json::json_pointer(), &pointers);
  Outcome out;
  for (const auto& ptr : pointers) {
    for (const json& v : hostile_values()) {
      json mutated = doc;
      mutated[ptr] = v;
      const std::string shown = v.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 40);
      check_reader(ptr.to_string() + " = " + shown, [&] { read(mutated); }, &out);
    }
    json removed = doc;
    removed[ptr.parent_pointer()].is_object() ? (void)removed[ptr.parent_pointer()].erase(ptr.back())
                                              : removed[ptr.parent_pointer()].erase(std::stoul(ptr.back()));
    check_reader(ptr.to_string() + " removed", [&] { read(removed); }, &out);
  }
  return out;
}

json reference_spec() {
  std::ifstream in(ptq::test::source_dir() + "/experiments/examples/reference.json");
  return json::parse(in);
}

// reference.json reads its data under $PTQ_DATA and leaves its model under the unset $PTQ_MODELS.
void use_embedded_data() {
  ::setenv("PTQ_DATA", (ptq::test::source_dir() + "/experiments/data/tiny").c_str(), 1);
  ::unsetenv("PTQ_MODELS");
}

}  // namespace

TEST_CASE("experiment files: every value replaced by hostile values is accepted or refused with one short line",
          "[unit][spec][hostile]") {
  use_embedded_data();
  const std::string base = ptq::test::source_dir() + "/experiments/examples";
  const json doc = reference_spec();
  REQUIRE_NOTHROW(ptq::run::parse_experiment_spec(doc, "reference.json", base));
  const Outcome out = mutate_all(doc, [&](const json& d) { ptq::run::parse_experiment_spec(d, "reference.json", base); });
  for (const auto& f : out.failures) UNSCOPED_INFO(f);
  CHECK(out.failures.empty());
  // Most mutations must be refused (a strict reader), some accepted (e.g. another valid integer).
  CHECK(out.refused > 5 * out.accepted);
  CHECK(out.accepted > 0);
}

TEST_CASE("plans: every value of a planned cell replaced by hostile values is accepted or refused with one short line",
          "[unit][spec][hostile]") {
  use_embedded_data();
  const std::string base = ptq::test::source_dir() + "/experiments/examples";
  const auto cells = ptq::run::plan_cells(ptq::run::parse_experiment_spec(reference_spec(), "reference.json", base));
  ptq::test::TempDir dir;
  ptq::run::write_plan(dir.file("plan.jsonl"), {cells.front()});
  const json line = json::parse(ptq::test::read_text(dir.file("plan.jsonl")));
  REQUIRE_NOTHROW(ptq::run::read_plan(dir.file("plan.jsonl")));
  const Outcome out = mutate_all(line, [&](const json& d) {
    ptq::test::write_text(dir.file("mutated.jsonl"), d.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    ptq::run::read_plan(dir.file("mutated.jsonl"));
  });
  for (const auto& f : out.failures) UNSCOPED_INFO(f);
  CHECK(out.failures.empty());
  CHECK(out.refused > 0);
}
