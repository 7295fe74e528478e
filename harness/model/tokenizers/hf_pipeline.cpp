#include "harness/model/tokenizers/hf_pipeline.h"

#include "harness/model/tokenizers/unicode_text.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <memory>

namespace ptq::tok {

namespace {

using nlohmann::json;

// GPT-2's split pattern: what a ByteLevel pre-tokenizer with use_regex applies.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kMetaspace = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary

[[noreturn]] void unsupported(const std::string& source, const std::string& key, const json& node) {
  throw InputError(fmt::format("{}: {} of type \"{}\" is not supported (the harness implements the components of "
                               "Llama, Mistral and Qwen tokenizers)", source, key, node.value("type", std::string("?"))));
}

std::string string_field(const json& node, const char* field, const std::string& source, const std::string& key) {
  if (!node.contains(field) || !node[field].is_string())
    throw InputError(fmt::format("{}: {}.{} is missing or not a string", source, key, field));
  return node[field].get<std::string>();
}

bool bool_field(const json& node, const char* field, bool fallback) {
  return node.contains(field) && node[field].is_boolean() ? node[field].get<bool>() : fallback;
}

// A pattern object {"String": s} or {"Regex": r} as a compiled regex (a string matches literally).
RegexSplitter pattern_of(const json& node, const std::string& source, const std::string& key) {
  const json& p = node.contains("pattern") ? node["pattern"] : json();
  if (p.contains("Regex") && p["Regex"].is_string()) return RegexSplitter(p["Regex"].get<std::string>(), source);
  if (p.contains("String") && p["String"].is_string()) {
    std::string quoted;
    for (char c : p["String"].get<std::string>()) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) quoted += '\\';
      quoted += c;
    }
    return RegexSplitter(quoted, source);
  }
  throw InputError(fmt::format("{}: {}.pattern is {}, expected {{\"String\": ...}} or {{\"Regex\": ...}}", source, key, bounded_excerpt(p.dump())));
}

std::string replace_all(std::string_view text, const RegexSplitter& pattern, const std::string& content) {
  std::string out;
  size_t at = 0;
  for (const auto& [b, e] : pattern.matches(text)) {
    out.append(text.substr(at, b - at));
    out += content;
    at = e;
  }
  out.append(text.substr(at));
  return out;
}

Normalizer build_normalizer(const json& node, const std::string& source, const std::string& key) {
  if (node.is_null()) return [](std::string_view s) { return std::string(s); };
  const std::string type = node.value("type", std::string());
  if (type == "Sequence") {
    std::vector<Normalizer> steps;
    const json& list = node.value("normalizers", json::array());
    for (size_t i = 0; i < list.size(); ++i) steps.push_back(build_normalizer(list[i], source, fmt::format("{}.normalizers[{}]", key, i)));
    return [steps](std::string_view s) {
      std::string t(s);
      for (const auto& f : steps) t = f(t);
      return t;
    };
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
    return [type](std::string_view s) { return normalize_unicode(s, type); };
  if (type == "Lowercase") return [](std::string_view s) { return lowercase_unicode(s); };
  if (type == "Prepend") {
    const std::string prefix = string_field(node, "prepend", source, key);
    return [prefix](std::string_view s) { return s.empty() ? std::string() : prefix + std::string(s); };
  }
  if (type == "Replace") {
    auto pattern = std::make_shared<RegexSplitter>(pattern_of(node, source, key));
    const std::string content = string_field(node, "content", source, key);
    return [pattern, content](std::string_view s) { return replace_all(s, *pattern, content); };
  }
  unsupported(source, key, node);
}

// How a Split pre-tokenizer turns matches into pieces (tokenizers' SplitDelimiterBehavior).
std::vector<std::string> split_by(std::string_view s, const RegexSplitter& pattern, const std::string& behavior, bool invert) {
  struct Span { size_t b, e; bool match; };
  std::vector<Span> spans;
  size_t at = 0;
  for (const auto& [b, e] : pattern.matches(s)) {
    if (b > at) spans.push_back({at, b, invert});
    spans.push_back({b, e, !invert});
    at = e;
  }
  if (at < s.size()) spans.push_back({at, s.size(), invert});
  std::vector<std::string> out;
  const auto text = [&](const Span& sp) { return std::string(s.substr(sp.b, sp.e - sp.b)); };
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& sp = spans[i];
    if (behavior == "Isolated") {
      out.push_back(text(sp));
    } else if (behavior == "Removed") {
      if (!sp.match) out.push_back(text(sp));
    } else if (behavior == "MergedWithPrevious") {
      if (sp.match && !out.empty() && i > 0 && !spans[i - 1].match) out.back() += text(sp);
      else out.push_back(text(sp));
    } else if (behavior == "MergedWithNext") {
      if (!sp.match && i > 0 && spans[i - 1].match) out.back() += text(sp);
      else out.push_back(text(sp));
    } else {  // Contiguous
      if (sp.match && i > 0 && spans[i - 1].match) out.back() += text(sp);
      else out.push_back(text(sp));
    }
  }
  return out;
}

PreTokenizer split_pre_tokenizer(std::shared_ptr<RegexSplitter> pattern, std::string behavior, bool invert) {
  return [pattern, behavior, invert](std::vector<PreToken>& pieces) {
    std::vector<PreToken> out;
    for (const auto& p : pieces)
      for (auto& s : split_by(p.text, *pattern, behavior, invert)) out.push_back({std::move(s), p.segment_offset});
    pieces = std::move(out);
  };
}

PreTokenizer byte_level_pre_tokenizer(const json& node, const std::string& source) {
  const bool prefix_space = bool_field(node, "add_prefix_space", true);
  const bool use_regex = bool_field(node, "use_regex", true);
  auto gpt2 = use_regex ? std::make_shared<RegexSplitter>(kGpt2Pattern, source) : nullptr;
  return [prefix_space, gpt2](std::vector<PreToken>& pieces) {
    if (prefix_space)
      for (auto& p : pieces)
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(p.text.begin(), ' ');
    if (gpt2) split_pre_tokenizer(gpt2, "Isolated", false)(pieces);
    const auto& table = byte_to_unicode();
    for (auto& p : pieces) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (char c : p.text) mapped += table[static_cast<unsigned char>(c)];
      p.text = std::move(mapped);
    }
  };
}

PreTokenizer metaspace_pre_tokenizer(const json& node, const std::string& source, const std::string& key) {
  const std::string replacement = node.value("replacement", std::string(kMetaspace));
  // Older files say add_prefix_space (true = "always"); newer ones prepend_scheme.
  std::string scheme = node.value("prepend_scheme", bool_field(node, "add_prefix_space", true) ? "always" : "never");
  if (scheme != "always" && scheme != "first" && scheme != "never")
    throw InputError(fmt::format("{}: {}.prepend_scheme \"{}\" is not one of always, first, never", source, key, scheme));
  const bool split = bool_field(node, "split", true);
  auto boundary = std::make_shared<RegexSplitter>(replacement, source);
  return [replacement, scheme, split, boundary](std::vector<PreToken>& pieces) {
    for (auto& p : pieces) {
      std::string t;
      for (char c : p.text) {
        if (c == ' ') t += replacement;
        else t += c;
      }
      const bool prepend = scheme == "always" || (scheme == "first" && p.segment_offset == 0);
      if (prepend && t.compare(0, replacement.size(), replacement) != 0) t = replacement + t;
      p.text = std::move(t);
    }
    if (split) split_pre_tokenizer(boundary, "MergedWithNext", false)(pieces);
  };
}

PreTokenizer build_pre_tokenizer(const json& node, const std::string& source, const std::string& key, bool* byte_level) {
  if (node.is_null()) return [](std::vector<PreToken>&) {};
  const std::string type = node.value("type", std::string());
  if (type == "Sequence") {
    std::vector<PreTokenizer> steps;
    const json& list = node.value("pretokenizers", json::array());
    for (size_t i = 0; i < list.size(); ++i)
      steps.push_back(build_pre_tokenizer(list[i], source, fmt::format("{}.pretokenizers[{}]", key, i), byte_level));
    return [steps](std::vector<PreToken>& pieces) {
      for (const auto& f : steps) f(pieces);
    };
  }
  if (type == "Split") {
    const std::string behavior = node.value("behavior", std::string("Isolated"));
    if (behavior != "Isolated" && behavior != "Removed" && behavior != "MergedWithPrevious" &&
        behavior != "MergedWithNext" && behavior != "Contiguous")
      throw InputError(fmt::format("{}: {}.behavior \"{}\" is not a split behavior", source, key, behavior));
    return split_pre_tokenizer(std::make_shared<RegexSplitter>(pattern_of(node, source, key)), behavior,
                               bool_field(node, "invert", false));
  }
  if (type == "ByteLevel") {
    *byte_level = true;
    return byte_level_pre_tokenizer(node, source);
  }
  if (type == "Metaspace") return metaspace_pre_tokenizer(node, source, key);
  if (type == "Digits") {
    const bool single = bool_field(node, "individual_digits", false);
    return split_pre_tokenizer(std::make_shared<RegexSplitter>(single ? "\\p{N}" : "\\p{N}+", source), "Isolated", false);
  }
  if (type == "WhitespaceSplit")
    return split_pre_tokenizer(std::make_shared<RegexSplitter>("\\s+", source), "Removed", false);
  unsupported(source, key, node);
}

// Consecutive <0xXX> tokens become the bytes they stand for (U+FFFD per byte when those are not UTF-8).
void byte_fallback_decode(std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string bytes;
  size_t pending = 0;
  const auto flush = [&] {
    if (pending == 0) return;
    if (first_invalid_utf8(bytes) == std::string_view::npos) out.push_back(bytes);
    else for (size_t i = 0; i < pending; ++i) out.push_back("\xEF\xBF\xBD");
    bytes.clear();
    pending = 0;
  };
  for (auto& t : tokens) {
    unsigned value = 0;
    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::sscanf(t.c_str() + 3, "%2x", &value) == 1) {
      bytes.push_back(static_cast<char>(value));
      ++pending;
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  tokens = std::move(out);
}

Decoder build_decoder(const json& node, const std::string& source, const std::string& key) {
  const auto fuse = [](std::vector<std::string>& tokens) {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens = {all};
  };
  if (node.is_null()) return fuse;
  const std::string type = node.value("type", std::string());
  if (type == "Sequence") {
    std::vector<Decoder> steps;
    const json& list = node.value("decoders", json::array());
    for (size_t i = 0; i < list.size(); ++i) steps.push_back(build_decoder(list[i], source, fmt::format("{}.decoders[{}]", key, i)));
    return [steps](std::vector<std::string>& tokens) {
      for (const auto& f : steps) f(tokens);
    };
  }
  if (type == "Fuse") return fuse;
  if (type == "ByteFallback") return byte_fallback_decode;
  if (type == "ByteLevel")
    return [](std::vector<std::string>& tokens) {
      std::string all, bytes;
      for (const auto& t : tokens) {
        if (unicode_to_bytes(t, &bytes)) all += bytes;
        else all += t;  // an added token spelled in plain text
      }
      tokens = {all};
    };
  if (type == "Replace") {
    auto pattern = std::make_shared<RegexSplitter>(pattern_of(node, source, key));
    const std::string content = string_field(node, "content", source, key);
    return [pattern, content](std::vector<std::string>& tokens) {
      for (auto& t : tokens) t = replace_all(t, *pattern, content);
    };
  }
  if (type == "Strip") {
    const std::string content = string_field(node, "content", source, key);
    const auto start = static_cast<size_t>(node.value("start", 0)), stop = static_cast<size_t>(node.value("stop", 0));
    return [content, start, stop](std::vector<std::string>& tokens) {
      for (auto& t : tokens) {
        for (size_t i = 0; i < start && t.compare(0, content.size(), content) == 0; ++i) t.erase(0, content.size());
        for (size_t i = 0; i < stop && t.size() >= content.size() &&
                           t.compare(t.size() - content.size(), content.size(), content) == 0; ++i)
          t.erase(t.size() - content.size());
      }
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = node.value("replacement", std::string(kMetaspace));
    const bool strip_first = node.value("prepend_scheme", std::string("always")) != "never";
    return [replacement, strip_first, fuse](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string out;
        for (size_t at = 0; at < tokens[i].size();) {
          if (tokens[i].compare(at, replacement.size(), replacement) == 0) {
            out += ' ';
            at += replacement.size();
          } else {
            out += tokens[i][at++];
          }
        }
        if (i == 0 && strip_first && !out.empty() && out[0] == ' ') out.erase(0, 1);
        tokens[i] = std::move(out);
      }
      fuse(tokens);
    };
  }
  unsupported(source, key, node);
}

}  // namespace

HfPipeline build_hf_pipeline(const json& j, const std::string& source) {
  HfPipeline p;
  p.normalize = build_normalizer(j.value("normalizer", json()), source, "normalizer");
  p.pre_tokenize = build_pre_tokenizer(j.value("pre_tokenizer", json()), source, "pre_tokenizer", &p.byte_level);
  p.decode = build_decoder(j.value("decoder", json()), source, "decoder");
  return p;
}

}  // namespace ptq::tok
