#include "harness/data/c4_windows.h"

#include "harness/util/errors.h"
#include "harness/util/py_random.h"

#include <fmt/format.h>

#include <unordered_map>

namespace ptq::eval {

std::vector<DocWindow> sample_doc_windows(const std::vector<std::string>& docs, const TokenizeWithBos& tokenize,
                                          int64_t n, int64_t seqlen, int64_t seed) {
  if (docs.empty()) throw InputError("C4 window sampling: the document list is empty");
  PyRandom rng(seed);
  // Documents are re-drawn often (most are shorter than seqlen); tokenize each one once.
  std::unordered_map<int64_t, std::vector<int32_t>> tokenized;
  std::unordered_map<int64_t, bool> too_short;
  const int64_t max_draws = 1000 * static_cast<int64_t>(docs.size()) + 1000000;  // guards an endless loop
  std::vector<DocWindow> out;
  out.reserve(n);
  int64_t draws = 0;
  for (int64_t s = 0; s < n; ++s) {
    int64_t doc = 0;
    for (;;) {
      if (++draws > max_draws || (static_cast<int64_t>(too_short.size()) == static_cast<int64_t>(docs.size())))
        throw InputError(fmt::format("C4 window sampling: no document has at least {} tokens (after {} draws); "
                                     "use the full shard or a smaller --seqlen", seqlen, draws));
      doc = rng.randint(0, static_cast<int64_t>(docs.size()) - 1);
      if (too_short.count(doc)) continue;
      auto it = tokenized.find(doc);
      if (it == tokenized.end()) {
        auto ids = tokenize(docs[doc]);
        if (static_cast<int64_t>(ids.size()) < seqlen) {
          too_short[doc] = true;
          continue;
        }
        it = tokenized.emplace(doc, std::move(ids)).first;
      }
      break;
    }
    const auto& ids = tokenized[doc];
    const int64_t len = static_cast<int64_t>(ids.size());
    if (len == seqlen)
      throw InputError(fmt::format("C4 window sampling: document {} has exactly {} tokens; the reference code's "
                                   "randint(0, -1) raises ValueError here too", doc, seqlen));
    const int64_t start = rng.randint(0, len - seqlen - 1);
    out.push_back({doc, start, std::vector<int32_t>(ids.begin() + start, ids.begin() + start + seqlen)});
  }
  return out;
}

}  // namespace ptq::eval
