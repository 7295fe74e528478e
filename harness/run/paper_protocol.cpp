#include "harness/run/paper_protocol.h"

#include "harness/io/json_file.h"
#include "harness/ptq/quant_setting.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/strict_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace ptq::run {

namespace {

// The record a report would compare a cell's metric with, as far as the protocol check needs it.
struct Compared {
  std::string where;  // "<file name> <table>"
  bool verified = false;
  nlohmann::json protocol;  // null: the record states none
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string record_key(const std::string& model, const std::string& setting, int64_t group, const std::string& method,
                       const std::string& metric) {
  return fmt::format("{}|{}|{}|{}|{}", model, setting, group, lower(method), metric);
}

// Checked when the file is read, so that a typo in a protocol is an error and not a silent pass.
void check_protocol(const nlohmann::json& p, const std::string& where) {
  if (!p.is_object()) throw InputError(fmt::format("{}: is {}, expected an object such as {{\"calibration_n\": 128}}", where, bounded_excerpt(p.dump())));
  std::string text;
  int64_t number = 0;
  StrictJsonReader r(p, where);
  r.read("calibration_dataset", text);
  r.read("calibration_n", number);
  r.read("calibration_seqlen", number);
  r.read("epochs", number);
  r.read("source", text);
  r.known("config");
  r.finish();
  if (p.contains("config") && !p["config"].is_object())
    throw InputError(fmt::format("{}: \"config\" is {}, expected an object of method config values", where, bounded_excerpt(p["config"].dump())));
}

// One paper file: per key, the record the report picks (verified first, then file order). Records the
// database skips (no model, setting or value) are skipped here too.
std::map<std::string, Compared> index_paper_file(const std::string& file) {
  const nlohmann::json doc = io::read_json_file(file);
  if (!doc.is_array()) throw InputError(fmt::format("{}: expected a JSON array of reported numbers", file));
  std::map<std::string, Compared> index;
  for (size_t i = 0; i < doc.size(); ++i) {
    const nlohmann::json& r = doc[i];
    if (!r.is_object() || r.value("model", nlohmann::json()).is_null() || r.value("setting", nlohmann::json()).is_null() ||
        r.value("value", nlohmann::json()).is_null() || !r.value("method", nlohmann::json()).is_string() ||
        !r.value("metric", nlohmann::json()).is_string())
      continue;
    Compared c{fmt::format("{} {}", fs::path(file).filename().string(), r.value("table", "")), r.value("verified", false),
               r.value("protocol", nlohmann::json())};
    if (r.contains("protocol")) check_protocol(c.protocol, fmt::format("{}: [{}].protocol", file, i));
    const nlohmann::json group = r.value("group_size", nlohmann::json());
    const std::string key = record_key(r["model"].get<std::string>(), r["setting"].get<std::string>(),
                                       group.is_number_integer() ? group.get<int64_t>() : 0, r["method"].get<std::string>(),
                                       r["metric"].get<std::string>());
    const auto it = index.find(key);
    if (it == index.end()) index.emplace(key, c);
    else if (c.verified && !it->second.verified) it->second = c;
  }
  return index;
}

// The paper's spelling of the cell's setting (W4A16g128 -> W4A16, group 128), as the report matches it;
// false for settings paper tables do not have (KV bits, symmetric).
bool paper_setting(const std::string& ours, std::string* base, int64_t* group) {
  const auto q = quant::QuantSetting::parse(ours);
  *base = fmt::format("W{}A{}", q.wbits, q.abits);
  *group = q.group_size;
  return quant::QuantSetting::parse(*base + (q.group_size ? fmt::format("g{}", q.group_size) : "")) == q;
}

// The metrics a cell reports (report/ keys): <task>_ppl, <task> for zero-shot tasks, zeroshot_avg.
std::vector<std::string> cell_metrics(const Cell& cell) {
  std::vector<std::string> out;
  for (const auto& e : cell.evaluators) {
    out.push_back(e.zeroshot ? e.task : e.task + "_ppl");
    if (e.task == "lambada_openai") out.push_back("lambada_openai_ppl");
  }
  if (!cell.zeroshot_average.empty()) out.push_back("zeroshot_avg");
  return out;
}

// (key, ours, the paper's) for each protocol key the cell does not match.
std::vector<std::array<std::string, 3>> mismatches(const nlohmann::json& protocol, const Cell& cell) {
  std::vector<std::array<std::string, 3>> out;
  const auto differ = [&](const std::string& key, const nlohmann::json& ours, const nlohmann::json& theirs) {
    if (ours != theirs) out.push_back({key, ours.is_null() ? "absent" : ours.dump(), theirs.dump()});
  };
  if (cell.calibration) {
    const std::pair<const char*, nlohmann::json> calibration[] = {{"dataset", cell.calibration->dataset},
                                                                  {"n", cell.calibration->n},
                                                                  {"seqlen", cell.calibration->seqlen}};
    for (const auto& [key, ours] : calibration)
      if (protocol.contains(std::string("calibration_") + key))
        differ(std::string("calibration.") + key, ours, protocol[std::string("calibration_") + key]);
  }
  const nlohmann::json epochs = cell.config.value("epochs", nlohmann::json());
  if (protocol.contains("epochs") && epochs.is_number_integer() && epochs.get<int64_t>() >= 0)
    differ("config.epochs", epochs, protocol["epochs"]);
  const nlohmann::json config = protocol.value("config", nlohmann::json::object());  // items() must not outlive it
  for (const auto& [key, theirs] : config.items())
    differ("config." + key, cell.config.value(key, nlohmann::json()), theirs);
  return out;
}

}  // namespace

std::vector<std::string> protocol_warnings(const ExperimentSpec& spec, const std::vector<Cell>& cells) {
  std::vector<std::map<std::string, Compared>> files;
  for (const auto& f : spec.papers) files.push_back(index_paper_file(f));
  std::vector<std::string> out;
  std::set<std::string> said;  // one line per row, model, setting and key: not per seed or metric
  for (const auto& cell : cells) {
    std::string setting;
    int64_t group = 0;
    if (!cell.paper_row || cell.model.paper_model.empty() || !paper_setting(cell.setting, &setting, &group)) continue;
    for (const auto& metric : cell_metrics(cell)) {
      const std::string key = record_key(cell.model.paper_model, setting, group, cell.paper_method, metric);
      for (const auto& index : files) {
        const auto it = index.find(key);
        if (it == index.end()) continue;  // the report looks in the next file
        if (!it->second.protocol.is_null())
          for (const auto& [k, ours, theirs] : mismatches(it->second.protocol, cell))
            if (said.insert(fmt::format("{}|{}|{}|{}", cell.label, cell.model.id, cell.setting, k)).second)
              out.push_back(fmt::format("{}: row \"{}\" ({} {}): {} is {} here but {} in the protocol of {}, the number the "
                                        "report compares it with",
                                        spec.file, cell.label, cell.model.id, cell.setting, k, ours, theirs,
                                        it->second.where));
        break;
      }
    }
  }
  return out;
}

}  // namespace ptq::run
