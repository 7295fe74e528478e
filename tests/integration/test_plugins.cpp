// Runtime plugins (harness/pipeline/plugins.h) through the real binary: loading with --plugin,
// PTQBENCH_PLUGINS and an experiment's "plugins"; refusals (wrong ABI tag, no entry point, a name
// ptqbench has, a throwing registration, a missing file), each one line and exit 2; a plugin method's
// cells next to ptqbench's own, a plugin that throws in apply failing only its cell; run ids that keep
// to the plugin's declared name and version; a plan's worker loading the plugin from the plan alone.
// The plugins are tests/plugins/test_plugin.cpp in variants.
#include "harness/io/json_file.h"
#include "harness/io/sha256.h"
#include "harness/run/plan.h"
#include "tests/support/cli_runner.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

std::string plugin(const std::string& variant) { return std::string(PTQ_TEST_PLUGIN_DIR) + "/lib" + variant + ".so"; }

int64_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

// A random 2-block model, a token file, and an experiment with FP, rtn, plugin_rtn and plugin_throws.
struct Fixture {
  TempDir dir;
  Fixture() {
    ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(), 7);
    ptq::test::write_token_ids(dir.file("ids.npy"), 8 * 32, 31, 5);
  }
  std::string write_spec(const std::string& plugin_path, const std::string& name = "plugins") const {
    const nlohmann::json spec = {
        {"name", name},
        {"plugins", {plugin_path}},
        {"models", {{{"id", "rand"}, {"path", dir.file("model")}}}},
        {"settings", {"W4A16"}},
        {"methods", {"rtn", "plugin_rtn", "plugin_throws"}},
        {"evaluators", {{"seqlen", 32}, {"tasks", {{{"task", "tokens"}, {"data", dir.file("ids.npy")}}}}}},
        {"runtime", {{"threads", 1}}}};
    ptq::test::write_text(dir.file(name + ".json"), spec.dump(2));
    return dir.file(name + ".json");
  }
  nlohmann::json result(const std::string& results, const ptq::run::Cell& cell) const {
    return ptq::io::read_json_file(results + "/runs/" + cell.run_id + "/result.json");
  }
};

double tokens_ppl(const nlohmann::json& result) {
  for (const auto& m : result.at("metrics"))
    if (m.at("name") == "tokens_ppl") return m.at("value").get<double>();
  FAIL("no tokens_ppl in " << result.at("metrics").dump());
  return 0;
}

}  // namespace

TEST_CASE("a plugin's methods and tasks are listed with where they come from", "[integration][plugins]") {
  const auto r = run_ptqbench({"--plugin", plugin("ptq_test_plugin"), "ls", "methods"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("plugin_rtn   test plugin: round-to-nearest through the public API"));
  CHECK_THAT(r.out, Contains("from plugin ptqbench-test-plugin 1.0.0 (" + fs::canonical(plugin("ptq_test_plugin")).string()));
  CHECK_THAT(r.out, Contains("rtn          round-to-nearest"));  // ptqbench's own are still there

  // PTQBENCH_PLUGINS does the same; `ls plugins` names the file and its hash.
  const auto env = run_ptqbench({"ls", "plugins"}, "PTQBENCH_PLUGINS=:" + plugin("ptq_test_plugin") + ":");
  INFO(env.err);
  REQUIRE(env.exit_code == 0);
  CHECK_THAT(env.out, StartsWith("ptqbench-test-plugin 1.0.0: test plugin: plugin_rtn, plugin_throws, plugin_blocks\n"));
  CHECK_THAT(env.out, Contains("sha256:  " + ptq::io::sha256_file(plugin("ptq_test_plugin"))));
  CHECK_THAT(env.out, Contains("methods: plugin_rtn, plugin_throws\n  tasks:   plugin_blocks\n"));
  const auto tasks = run_ptqbench({"--plugin=" + plugin("ptq_test_plugin"), "ls", "evaluators"});
  CHECK_THAT(tasks.out, Contains("plugin_blocks   perplexity: test plugin: the model's number of decoder blocks"));
  // The same file twice is loaded once.
  const auto twice = run_ptqbench({"--plugin", plugin("ptq_test_plugin"), "--plugin", plugin("ptq_test_plugin"), "ls", "plugins"});
  CHECK(twice.exit_code == 0);
  CHECK(twice.out.find("ptqbench-test-plugin 1.0.0:") == twice.out.rfind("ptqbench-test-plugin 1.0.0:"));
}

TEST_CASE("bad plugins are refused with one line and exit 2", "[integration][plugins]") {
  struct Case {
    std::string path, expected;
  };
  const std::vector<Case> cases = {
      {plugin("ptq_test_plugin_wrong_abi"), "built for \"ptqbench-plugin 1; ptqbench " PTQBENCH_VERSION "; libtorch 9.9.9;"},
      {plugin("ptq_test_plugin_no_entry"), "no entry point ptqbench_plugin_v1: not a ptqbench plugin"},
      {plugin("ptq_test_plugin_duplicate"), "method 'rtn' exists already (from ptqbench itself)"},
      {plugin("ptq_test_plugin_register_throws"),
       "plugin ptqbench-test-plugin-register-throws failed to register: register_all: a deliberate failure"},
      {"/nonexistent/libnothing.so", "plugin /nonexistent/libnothing.so (--plugin): no such file"},
      {ptq::test::source_dir() + "/README.md", "cannot load it: "},  // not a shared object
  };
  for (const auto& c : cases) {
    INFO(c.path);
    const auto r = run_ptqbench({"--plugin", c.path, "ls", "methods"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, StartsWith("ptqbench: error: plugin ") && Contains(c.expected));
    CHECK(lines(r.err) == 1);
    CHECK(r.out.empty());
  }
  const auto abi = run_ptqbench({"--plugin", plugin("ptq_test_plugin_wrong_abi"), "ls"});
  CHECK_THAT(abi.err, Contains("but this ptqbench is \"ptqbench-plugin 1; ptqbench " PTQBENCH_VERSION "; libtorch ") &&
                          Contains("rebuild the plugin against this install"));
  // From an experiment file: the file and key are named, before any cell is planned.
  TempDir dir;
  ptq::test::write_text(dir.file("spec.json"), R"({"name": "x", "plugins": ["missing.so"], "models": [], "evaluators": []})");
  const auto spec = run_ptqbench({"plan", dir.file("spec.json")});
  CHECK(spec.exit_code == 2);
  CHECK_THAT(spec.err, Contains("plugin " + dir.file("missing.so") + " (" + dir.file("spec.json") + ": plugins[0]): no such file"));
  ptq::test::write_text(dir.file("spec2.json"), R"({"name": "x", "plugins": "a.so", "models": [], "evaluators": []})");
  const auto not_list = run_ptqbench({"plan", dir.file("spec2.json")});
  CHECK(not_list.exit_code == 2);
  CHECK_THAT(not_list.err, Contains("plugins"));
  // From the environment: the variable is named.
  const auto env = run_ptqbench({"ls"}, "PTQBENCH_PLUGINS=" + plugin("ptq_test_plugin_no_entry"));
  CHECK(env.exit_code == 2);
  CHECK_THAT(env.err, Contains("(PTQBENCH_PLUGINS)"));
}

TEST_CASE("a plugin's cells run beside ptqbench's and one that throws fails alone", "[integration][plugins]") {
  Fixture f;
  const std::string spec = f.write_spec(plugin("ptq_test_plugin"));
  const std::string results = f.dir.file("results");
  const auto r = run_ptqbench({"run", spec, "--results", results, "--no-cache"});
  INFO(r.err);
  CHECK(r.exit_code == 3);  // a failed cell
  const auto cells = ptq::run::read_plan(results + "/plans/plugins.jsonl");
  REQUIRE(cells.size() == 4);
  REQUIRE(cells[1].method == "rtn");
  REQUIRE(cells[2].method == "plugin_rtn");
  REQUIRE(cells[3].method == "plugin_throws");
  for (size_t i : {0, 1, 2}) {
    INFO(cells[i].describe());
    CHECK(f.result(results, cells[i]).at("status") == "ok");
    CHECK(fs::exists(results + "/runs/" + cells[i].run_id + "/DONE"));
  }
  // Through the public API, plugin_rtn computes what rtn computes.
  CHECK(tokens_ppl(f.result(results, cells[2])) == tokens_ppl(f.result(results, cells[1])));
  const nlohmann::json failed = f.result(results, cells[3]);
  CHECK(failed.at("status") == "failed");
  CHECK(failed.at("error") == "plugin_throws: a deliberate failure inside the plugin");
  CHECK(failed.at("error_kind") == "internal");
  CHECK_FALSE(fs::exists(results + "/runs/" + cells[3].run_id + "/DONE"));

  // ptqbench's own cells carry no plugin; the plugin's carry its name, version, path and hash.
  CHECK(cells[1].plugins.empty());
  CHECK_FALSE(cells[1].to_json().contains("plugins"));
  REQUIRE(cells[2].plugins.size() == 1);
  const std::string sha = ptq::io::sha256_file(plugin("ptq_test_plugin"));
  CHECK(cells[2].plugins[0].name == "ptqbench-test-plugin");
  CHECK(cells[2].plugins[0].version == "1.0.0");
  CHECK(cells[2].plugins[0].sha256 == sha);
  const nlohmann::json provenance = f.result(results, cells[2]).at("provenance").at("plugins");
  REQUIRE(provenance.size() == 1);
  CHECK(provenance[0].at("sha256") == sha);
  CHECK(provenance[0].at("path") == fs::canonical(plugin("ptq_test_plugin")).string());
  CHECK_THAT(r.out, Contains("|         |        | plugin_rtn | **138.18**") && Contains("1 failed run(s)"));

  // `quantize` with a plugin's method: quantization.json names the plugin and the file's hash; the
  // checkpoint evaluates without the plugin.
  const auto q = run_ptqbench({"--plugin", plugin("ptq_test_plugin"), "quantize", "--model", f.dir.file("model"), "--method",
                               "plugin_rtn", "--setting", "W4A16", "--out", f.dir.file("q")});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const nlohmann::json doc = ptq::io::read_json_file(f.dir.file("q/quantization.json"));
  CHECK(doc.at("method") == "plugin_rtn");
  CHECK(doc.at("plugin") == nlohmann::json({{"name", "ptqbench-test-plugin"}, {"version", "1.0.0"},
                                            {"path", fs::canonical(plugin("ptq_test_plugin")).string()}, {"sha256", sha}}));
  const auto e = run_ptqbench({"eval", "--model", f.dir.file("q"), "--task", "tokens", "--data", f.dir.file("ids.npy"), "--seqlen", "32"});
  INFO(e.err);
  CHECK(e.exit_code == 0);
  CHECK_THAT(e.out, Contains("PPL = 138.1793"));
}

TEST_CASE("plugin run ids keep to the declared name and version and a plan's worker loads the plugin itself",
          "[integration][plugins]") {
  Fixture f;
  // The same plugin file under another name and directory: the same run ids.
  fs::create_directories(f.dir.file("elsewhere"));
  fs::copy_file(plugin("ptq_test_plugin"), f.dir.file("elsewhere/libmoved.so"));
  REQUIRE(run_ptqbench({"plan", f.write_spec(plugin("ptq_test_plugin"), "p"), "-o", f.dir.file("a.jsonl")}).exit_code == 0);
  REQUIRE(run_ptqbench({"plan", f.write_spec(f.dir.file("elsewhere/libmoved.so"), "p"), "-o", f.dir.file("b.jsonl")}).exit_code == 0);
  const auto a = ptq::run::read_plan(f.dir.file("a.jsonl"));
  const auto b = ptq::run::read_plan(f.dir.file("b.jsonl"));
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].run_id == b[i].run_id);
  CHECK(b[2].plugins.at(0).path == fs::canonical(f.dir.file("elsewhere/libmoved.so")).string());
  // The identity names the plugin: without it the cell would have another id.
  ptq::run::Cell bare = a[2];
  bare.plugins.clear();
  CHECK(ptq::run::run_id_of(bare) != a[2].run_id);
  CHECK(ptq::run::cell_identity(a[2]).at("plugins") == nlohmann::json::parse(R"([{"name": "ptqbench-test-plugin", "version": "1.0.0"}])"));

  // `run --plan` (a Slurm task, a --jobs worker) gets no --plugin: the cell's plugin path is enough.
  const auto w = run_ptqbench({"run", "--plan", f.dir.file("b.jsonl"), "--index", "2", "--results", f.dir.file("results"), "--no-cache"});
  INFO(w.err);
  REQUIRE(w.exit_code == 0);
  CHECK(f.result(f.dir.file("results"), b[2]).at("status") == "ok");
  // A plan line whose plugin version was edited by hand: its run id no longer matches (the version is
  // in the identity).
  nlohmann::json line = b[2].to_json();
  line["plugins"][0]["version"] = "0.9.0";
  line["index"] = 0;
  ptq::test::write_text(f.dir.file("c.jsonl"), line.dump() + "\n");
  const auto edited = run_ptqbench({"run", "--plan", f.dir.file("c.jsonl"), "--index", "0", "--results", f.dir.file("results2"), "--no-cache"});
  CHECK(edited.exit_code == 2);
  CHECK_THAT(edited.err, Contains("does not match the cell's contents"));
  // A plan made with version 0.9.0 of the plugin, run with a file that now declares 1.0.0: that cell
  // fails, asking for a new plan.
  ptq::run::Cell old = b[2];
  old.plugins[0].version = "0.9.0";
  old.index = 0;
  old.run_id = ptq::run::run_id_of(old);
  ptq::test::write_text(f.dir.file("d.jsonl"), old.to_json().dump() + "\n");
  const auto stale = run_ptqbench({"run", "--plan", f.dir.file("d.jsonl"), "--index", "0", "--results", f.dir.file("results3"), "--no-cache"});
  INFO(stale.err);
  CHECK(stale.exit_code == 3);
  const nlohmann::json refused = ptq::io::read_json_file(f.dir.file("results3") + "/runs/" + old.run_id + "/result.json");
  CHECK_THAT(refused.at("error").get<std::string>(), Contains("planned with plugin ptqbench-test-plugin 0.9.0") &&
                                                         Contains("is plugin ptqbench-test-plugin 1.0.0: plan again"));
}
