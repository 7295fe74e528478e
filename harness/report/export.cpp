#include "harness/report/export.h"

#include "harness/io/files.h"
#include "harness/report/export_cells.h"
#include "harness/report/export_lm_eval.h"
#include "harness/report/export_table.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::report {

namespace {

// The directory exists (created now if needed) and this process may create files in it; InputError
// naming -o otherwise, before anything is written.
void prepare_directory(const std::string& dir, const std::string& option) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(fmt::format("-o {}: {} exists and is not a directory (expected a directory to write into)", option, dir));
  fs::create_directories(dir, ec);
  if (ec) throw InputError(fmt::format("-o {}: cannot create directory {}: {}", option, dir, ec.message()));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw InputError(fmt::format("-o {}: directory {} is not writable", option, dir));
}

// A failed write after the checks above is the machine's (disk full, quota), not the user's input.
void write(const std::string& path, const std::string& text, ExportSummary& summary) {
  try {
    io::write_file_atomic(path, text);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw EnvironmentError(fmt::format("export: {}", e.what()));
  }
  summary.files.push_back(path);
}

void write_table(store::ResultsDb& db, const std::vector<ExportCell>& cells, const ExportOptions& o, ExportSummary& s) {
  const std::string ext = o.format == ExportFormat::kCsv ? ".csv" : ".jsonl";
  const bool is_file = ends_with(o.out, ext);
  const std::string path = is_file ? o.out : (fs::path(o.out) / ("results" + ext)).string();
  const std::string dir = fs::path(path).parent_path().string();
  prepare_directory(dir.empty() ? "." : dir, o.out);
  for (const auto& c : cells) s.rows += static_cast<int>(c.metrics.size());
  write(path, o.format == ExportFormat::kCsv ? export_csv(db, cells) : export_jsonl(db, cells), s);
}

void write_lm_eval(const std::vector<ExportCell>& cells, const ExportOptions& o, ExportSummary& s) {
  prepare_directory(o.out, o.out);
  const std::vector<std::string> paths = lm_eval_paths(cells);
  for (size_t i = 0; i < cells.size(); ++i) {
    const fs::path path = fs::path(o.out) / paths[i];
    prepare_directory(path.parent_path().string(), o.out);
    write(path.string(), lm_eval_document(cells[i]).dump(2) + "\n", s);
  }
}

}  // namespace

const std::vector<std::string>& export_format_names() {
  static const std::vector<std::string> names = {"lm-eval", "csv", "jsonl"};
  return names;
}

ExportFormat parse_export_format(const std::string& name) {
  if (name == "lm-eval") return ExportFormat::kLmEval;
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "jsonl") return ExportFormat::kJsonl;
  const std::string hint = closest_match(name, export_format_names());
  throw InputError(fmt::format("--format: unknown export format '{}'{} (expected one of: {})", name,
                               hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint), join(export_format_names(), ", ")));
}

ExportSummary export_results(store::ResultsDb& db, const ExportOptions& o) {
  if (o.out.empty()) throw InputError("export: -o DIR is required (the directory to write into)");
  const ExportSelection sel = select_export_cells(db, o.experiments);
  ExportSummary s;
  s.runs = static_cast<int>(sel.cells.size());
  s.failed = sel.failed;
  if (o.format == ExportFormat::kLmEval) write_lm_eval(sel.cells, o, s);
  else write_table(db, sel.cells, o, s);
  return s;
}

}  // namespace ptq::report
