// One loader per task: the original file formats, turned into lm-eval v0.3.0's requests (see tasks.h).
#include "evaluators/zeroshot/tasks.h"
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/io/jsonl.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <regex>

namespace ptq::eval {

namespace {

using nlohmann::json;

// JSON lines with the line number kept for messages; blank lines are skipped.
struct JsonLine {
  size_t line;
  json doc;
};

std::vector<JsonLine> read_jsonl(const std::string& path) {
  std::vector<JsonLine> out;
  io::for_each_json_line_in(read_text_file(path), path, [&](size_t line, const json& doc) {
    out.push_back({line, doc});
    return true;
  });
  if (out.empty()) throw InputError(fmt::format("{}: no examples found", path));
  return out;
}

class Fields {
 public:
  Fields(const std::string& path, const JsonLine& l) : path_(path), l_(l) {}
  std::string str(const char* key) const {
    const auto& d = l_.doc;
    if (!d.contains(key) || !d[key].is_string()) throw missing(key, "a string");
    return d[key].get<std::string>();
  }
  const json& get(const char* key, const char* expected) const {
    if (!l_.doc.contains(key)) throw missing(key, expected);
    return l_.doc[key];
  }
  InputError missing(const char* key, const char* expected) const {
    return InputError(fmt::format("{}: line {}: \"{}\" missing or not {}", path_, l_.line, key, expected));
  }
  InputError bad(const std::string& what) const {
    return InputError(fmt::format("{}: line {}: {}", path_, l_.line, what));
  }

 private:
  const std::string& path_;
  const JsonLine& l_;
};

ZeroShotDoc multiple_choice(const std::string& context, const std::vector<std::string>& choices, int gold) {
  ZeroShotDoc d;
  for (const auto& c : choices) d.requests.push_back({context, " " + c});
  d.choices = choices;
  d.gold = gold;
  return d;
}

}  // namespace

std::vector<ZeroShotDoc> load_piqa(const std::string& jsonl, const std::string& labels_path) {
  const auto lines = read_jsonl(jsonl);
  io::require_file(labels_path, "PIQA label file");
  const std::string labels_text = io::read_file(labels_path);
  std::vector<int> labels;
  size_t pos = 0, line = 0;
  while (pos < labels_text.size()) {
    size_t end = labels_text.find('\n', pos);
    if (end == std::string::npos) end = labels_text.size();
    ++line;
    const std::string v = python_strip(std::string_view(labels_text).substr(pos, end - pos));
    pos = end + 1;
    if (v.empty()) continue;
    if (v != "0" && v != "1")
      throw InputError(fmt::format("{}: line {} is \"{}\", expected 0 or 1", labels_path, line, v));
    labels.push_back(v[0] - '0');
  }
  if (labels.size() != lines.size())
    throw InputError(fmt::format("{} has {} labels but {} has {} examples (they must be line-aligned)", labels_path,
                                 labels.size(), jsonl, lines.size()));
  std::vector<ZeroShotDoc> docs;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Fields f(jsonl, lines[i]);
    docs.push_back(multiple_choice("Question: " + f.str("goal") + "\nAnswer:", {f.str("sol1"), f.str("sol2")}, labels[i]));
  }
  return docs;
}

std::vector<ZeroShotDoc> load_arc(const std::string& jsonl) {
  std::vector<ZeroShotDoc> docs;
  for (const auto& l : read_jsonl(jsonl)) {
    const Fields f(jsonl, l);
    // The original ARC-V1-Feb2018 layout nests the question: {"question": {"stem", "choices": [{"text",
    // "label"}]}}; the HF export is flat: {"question", "choices": {"text": [...], "label": [...]}}.
    std::string question;
    std::vector<std::string> texts;
    const json& q = f.get("question", "a string or an object");
    if (q.is_object()) {
      if (!q.contains("stem") || !q["stem"].is_string() || !q.contains("choices") || !q["choices"].is_array())
        throw f.bad("\"question\" needs \"stem\" and a \"choices\" list");
      question = q["stem"].get<std::string>();
      for (const auto& c : q["choices"]) {
        if (!c.contains("text") || !c["text"].is_string()) throw f.bad("a choice has no \"text\"");
        texts.push_back(c["text"].get<std::string>());
      }
    } else if (q.is_string()) {
      question = q.get<std::string>();
      const json& ch = f.get("choices", "an object with a \"text\" list");
      if (!ch.is_object() || !ch.contains("text") || !ch["text"].is_array())
        throw f.bad("\"choices\" needs a \"text\" list");
      for (const auto& t : ch["text"]) {
        if (!t.is_string()) throw f.bad("a choice text is not a string");
        texts.push_back(t.get<std::string>());
      }
    } else {
      throw f.missing("question", "a string or an object");
    }
    std::string key = f.str("answerKey");
    if (key.size() == 1 && key[0] >= '1' && key[0] <= '5') key = std::string(1, static_cast<char>('A' + key[0] - '1'));
    const std::string letters = "ABCDE";
    const auto gold = key.size() == 1 ? letters.find(key[0]) : std::string::npos;
    if (gold == std::string::npos || gold >= texts.size())
      throw f.bad(fmt::format("answerKey \"{}\" does not name one of the {} choices", f.str("answerKey"), texts.size()));
    docs.push_back(multiple_choice("Question: " + question + "\nAnswer:", texts, static_cast<int>(gold)));
  }
  return docs;
}

std::vector<ZeroShotDoc> load_boolq(const std::string& jsonl) {
  std::vector<ZeroShotDoc> docs;
  for (const auto& l : read_jsonl(jsonl)) {
    const Fields f(jsonl, l);
    // SuperGLUE / HF: "label" (true/false or 1/0); the original BoolQ release: "answer" (true/false).
    const json& label = l.doc.contains("label") ? l.doc["label"] : f.get("answer", "a boolean");
    bool yes;
    if (label.is_boolean()) yes = label.get<bool>();
    else if (label.is_number_integer() && (label == 0 || label == 1)) yes = label == 1;
    else throw f.bad(fmt::format("label {} is not a boolean or 0/1", bounded_excerpt(label.dump())));
    ZeroShotDoc d;
    const std::string ctx = f.str("passage") + "\nQuestion: " + f.str("question") + "?\nAnswer:";
    d.requests = {{ctx, " yes"}, {ctx, " no"}};
    d.choices = {"yes", "no"};
    d.gold = yes ? 0 : 1;
    docs.push_back(std::move(d));
  }
  return docs;
}

std::string hellaswag_preprocess(const std::string& text) {
  static const std::regex brackets(R"(\[.*?\])");
  std::string t = python_strip(text);
  for (size_t p = t.find(" [title]"); p != std::string::npos; p = t.find(" [title]", p + 2)) t.replace(p, 8, ". ");
  t = std::regex_replace(t, brackets, "");
  std::string out;  // str.replace("  ", " "): one left-to-right pass over non-overlapping pairs
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ' ' && i + 1 < t.size() && t[i + 1] == ' ') {
      out += ' ';
      ++i;
    } else {
      out += t[i];
    }
  }
  return out;
}

std::vector<ZeroShotDoc> load_hellaswag(const std::string& jsonl) {
  std::vector<ZeroShotDoc> docs;
  for (const auto& l : read_jsonl(jsonl)) {
    const Fields f(jsonl, l);
    const std::string ctx = f.str("ctx_a") + " " + python_capitalize(f.str("ctx_b"));
    const json& endings = f.get("endings", "a list of 4 strings");
    if (!endings.is_array() || endings.size() != 4) throw f.missing("endings", "a list of 4 strings");
    std::vector<std::string> choices;
    for (const auto& e : endings) {
      if (!e.is_string()) throw f.missing("endings", "a list of 4 strings");
      choices.push_back(hellaswag_preprocess(e.get<std::string>()));
    }
    const json& label = f.get("label", "0..3");
    int gold = -1;
    if (label.is_number_integer()) gold = label.get<int>();
    else if (label.is_string() && label.get<std::string>().size() == 1) gold = label.get<std::string>()[0] - '0';
    if (gold < 0 || gold > 3) throw f.bad(fmt::format("label {} is not 0..3", bounded_excerpt(label.dump())));
    docs.push_back(multiple_choice(hellaswag_preprocess(f.str("activity_label") + ": " + ctx), choices, gold));
  }
  return docs;
}

std::vector<ZeroShotDoc> load_winogrande(const std::string& jsonl) {
  std::vector<ZeroShotDoc> docs;
  for (const auto& l : read_jsonl(jsonl)) {
    const Fields f(jsonl, l);
    const std::string sentence = f.str("sentence");
    const size_t blank = sentence.find('_');
    if (blank == std::string::npos) throw f.bad("sentence has no \"_\" blank");
    const std::string answer = f.str("answer");
    if (answer != "1" && answer != "2") throw f.bad(fmt::format("answer \"{}\" is not \"1\" or \"2\"", answer));
    const std::string target = " " + python_strip(sentence.substr(blank + 1));
    ZeroShotDoc d;
    for (const char* key : {"option1", "option2"}) {
      d.requests.push_back({sentence.substr(0, blank) + f.str(key), target});
      d.choices.push_back(f.str(key));
    }
    d.gold = answer[0] - '1';
    docs.push_back(std::move(d));
  }
  return docs;
}

std::vector<ZeroShotDoc> load_lambada(const std::string& jsonl) {
  std::vector<ZeroShotDoc> docs;
  for (const auto& l : read_jsonl(jsonl)) {
    const Fields f(jsonl, l);
    const std::string text = f.str("text");
    const size_t space = text.rfind(' ');
    if (space == std::string::npos) throw f.bad("text has no space to split off the last word");
    ZeroShotDoc d;
    d.requests = {{text.substr(0, space), " " + text.substr(space + 1)}};
    d.choices = {text.substr(space + 1)};
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace ptq::eval
