// The sentencepiece shim (see spm_shim.h for why it exists). Exceptions never cross the C ABI.
#include "harness/model/spm_shim/spm_shim.h"

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

struct ptq_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void set_error(char* err, size_t cap, const std::string& msg) {
  if (err == nullptr || cap == 0) return;
  const size_t n = msg.size() < cap - 1 ? msg.size() : cap - 1;
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}

}  // namespace

extern "C" {

int ptq_spm_abi_version(void) { return PTQ_SPM_SHIM_ABI_VERSION; }

ptq_spm* ptq_spm_load(const char* model_path, char* err, size_t err_cap) {
  try {
    auto* sp = new ptq_spm();
    const auto status = sp->processor.Load(model_path);
    if (!status.ok()) {
      set_error(err, err_cap, status.ToString());
      delete sp;
      return nullptr;
    }
    return sp;
  } catch (const std::exception& e) {
    set_error(err, err_cap, e.what());
    return nullptr;
  }
}

void ptq_spm_free(ptq_spm* sp) { delete sp; }

int ptq_spm_piece_size(const ptq_spm* sp) { return sp->processor.GetPieceSize(); }
int ptq_spm_bos_id(const ptq_spm* sp) { return sp->processor.bos_id(); }
int ptq_spm_eos_id(const ptq_spm* sp) { return sp->processor.eos_id(); }
int ptq_spm_unk_id(const ptq_spm* sp) { return sp->processor.unk_id(); }
int ptq_spm_pad_id(const ptq_spm* sp) { return sp->processor.pad_id(); }

int32_t* ptq_spm_encode(const ptq_spm* sp, const char* text, size_t len, size_t* n_out, char* err,
                        size_t err_cap) {
  try {
    std::vector<int> ids;
    const auto status = sp->processor.Encode(std::string(text, len), &ids);
    if (!status.ok()) {
      set_error(err, err_cap, status.ToString());
      return nullptr;
    }
    auto* out = static_cast<int32_t*>(std::malloc((ids.size() + 1) * sizeof(int32_t)));
    if (out == nullptr) {
      set_error(err, err_cap, "out of memory");
      return nullptr;
    }
    for (size_t i = 0; i < ids.size(); ++i) out[i] = ids[i];
    *n_out = ids.size();
    return out;
  } catch (const std::exception& e) {
    set_error(err, err_cap, e.what());
    return nullptr;
  }
}

char* ptq_spm_decode(const ptq_spm* sp, const int32_t* ids, size_t n, size_t* len_out, char* err,
                     size_t err_cap) {
  try {
    std::vector<int> v(ids, ids + n);
    std::string text;
    const auto status = sp->processor.Decode(v, &text);
    if (!status.ok()) {
      set_error(err, err_cap, status.ToString());
      return nullptr;
    }
    auto* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (out == nullptr) {
      set_error(err, err_cap, "out of memory");
      return nullptr;
    }
    std::memcpy(out, text.data(), text.size());
    out[text.size()] = '\0';
    *len_out = text.size();
    return out;
  } catch (const std::exception& e) {
    set_error(err, err_cap, e.what());
    return nullptr;
  }
}

char* ptq_spm_id_to_piece(const ptq_spm* sp, int32_t id) {
  if (id < 0 || id >= sp->processor.GetPieceSize()) return nullptr;
  const std::string piece = sp->processor.IdToPiece(id);
  auto* out = static_cast<char*>(std::malloc(piece.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, piece.c_str(), piece.size() + 1);
  return out;
}

void ptq_spm_free_buffer(void* p) { std::free(p); }

}  // extern "C"
