#include "harness/model/tokenizers/bpe_model.h"

#include "harness/model/tokenizers/unicode_text.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <queue>

namespace ptq::tok {

namespace {

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(options) {
  for (const auto& [token, id] : vocab_) max_id_ = std::max(max_id_, id);
  byte_tokens_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab_.find(fmt::format("<0x{:02X}>", b));
    if (it != vocab_.end()) byte_tokens_[b] = it->second;
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto a = vocab_.find(left), b = vocab_.find(right), r = vocab_.find(left + right);
    if (a == vocab_.end() || b == vocab_.end() || r == vocab_.end())
      throw InputError(fmt::format("{}: merge {} \"{} {}\" uses a token that is not in the vocabulary", source, rank, left, right));
    // A repeated merge keeps its first (lowest) rank, as the Rust implementation's map insertion does.
    merges_.emplace(pair_key(a->second, b->second), Merge{static_cast<int32_t>(rank), r->second});
  }
}

std::optional<int32_t> BpeModel::id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> BpeModel::initial_symbols(std::string_view word, std::vector<uint32_t>* lengths) const {
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  lengths->clear();
  bool last_unk = false;
  for (size_t i = 0; i < word.size();) {
    const size_t n = std::min(utf8_length(static_cast<unsigned char>(word[i])), word.size() - i);
    const std::string_view ch = word.substr(i, n);
    i += n;
    if (const auto it = vocab_.find(std::string(ch)); it != vocab_.end()) {
      ids.push_back(it->second);
      lengths->push_back(static_cast<uint32_t>(n));
      last_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && byte_tokens_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : ch) {
          ids.push_back(byte_tokens_[static_cast<unsigned char>(c)]);
          lengths->push_back(1);
        }
        last_unk = false;
        continue;
      }
    }
    if (!options_.unk_id) continue;  // no unk token: the character is dropped, as the reference does
    if (options_.fuse_unk && last_unk) {
      lengths->back() += static_cast<uint32_t>(n);
    } else {
      ids.push_back(*options_.unk_id);
      lengths->push_back(static_cast<uint32_t>(n));
    }
    last_unk = true;
  }
  return ids;
}

void BpeModel::merge_symbols(std::vector<int32_t>& ids, std::vector<uint32_t>& lengths) const {
  const int n = static_cast<int>(ids.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right;  // the ids the pair had when queued: a stale entry no longer matches
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    const auto it = merges_.find(pair_key(ids[pos], ids[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, ids[pos], ids[next[pos]]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const int right = next[c.pos];
    if (lengths[c.pos] == 0 || right < 0 || ids[c.pos] != c.left || ids[right] != c.right) continue;
    ids[c.pos] = merges_.at(pair_key(c.left, c.right)).result;
    lengths[c.pos] += lengths[right];
    lengths[right] = 0;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  size_t w = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) {
    ids[w] = ids[i];
    lengths[w++] = lengths[i];
  }
  ids.resize(w);
  lengths.resize(w);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (const auto it = vocab_.find(std::string(word)); it != vocab_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  std::vector<uint32_t> lengths;
  std::vector<int32_t> ids = initial_symbols(word, &lengths);
  merge_symbols(ids, lengths);
  out->insert(out->end(), ids.begin(), ids.end());
}

}  // namespace ptq::tok
