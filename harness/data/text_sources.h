// The raw text of the perplexity datasets, reproduced the way the Python references build it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ptq::eval {

// WikiText-2 as `"\n\n".join(load_dataset('wikitext', 'wikitext-2-raw-v1', split)['text'])`: the HF
// builder reads wiki.*.raw in text mode (universal newlines), yields each line with its trailing "\n",
// and "" for lines where `line.strip()` is empty. For the test split this is 1,294,336 characters.
std::string wikitext_join(std::string_view raw_file_contents);

// A text input (WikiText, C4 and JSON-lines shards, calibration and --data text files; .gz decompressed):
// its bytes, checked to be UTF-8 (util/utf8.h). InputError "<path>: not valid UTF-8 at byte offset N
// (...)" or "<path>: looks like UTF-16; convert it to UTF-8" instead of tokenizing mojibake.
std::string read_text_file(const std::string& path);

// The "text" fields of a C4 shard in file order (JSON lines, optionally .gz). `max_docs` > 0 stops early.
std::vector<std::string> read_c4_texts(const std::string& path, size_t max_docs = 0);
// User JSON lines: `spec` is "PATH" (each line's "text" field) or "PATH#FIELD". Every line must be an
// object with a string FIELD; InputError naming the file, line and field otherwise.
struct JsonlSource {
  std::string path, field = "text";
};
JsonlSource parse_jsonl_source(const std::string& spec);
std::vector<std::string> read_jsonl_texts(const JsonlSource& source);

// A data argument may name the file itself or a directory holding the dataset's canonical file names
// (e.g. wiki.test.raw, c4-validation.00000-of-00008.json.gz, also under en/). Throws InputError listing
// what was looked for.
std::string resolve_data_file(const std::string& path, const std::vector<std::string>& canonical_names,
                              std::string_view what);

}  // namespace ptq::eval
