// C ABI of the sentencepiece shim: a tiny shared library that is the ONLY code linked against
// libsentencepiece. Debian's libsentencepiece bundles protobuf 3.14 while LibTorch loads protobuf 3.21;
// the two in one link map crash at start-up, so the harness dlopen()s this library with
// RTLD_LOCAL | RTLD_DEEPBIND instead of linking it (see harness/model/tokenizer.cpp, DESIGN.md §6.1).
// Keep this header C-compatible and free of sentencepiece/protobuf types.
#ifndef PTQ_SPM_SHIM_H
#define PTQ_SPM_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PTQ_SPM_SHIM_ABI_VERSION 1

typedef struct ptq_spm ptq_spm;

// Every function that can fail writes a NUL-terminated message into err (capacity err_cap).
int ptq_spm_abi_version(void);
ptq_spm* ptq_spm_load(const char* model_path, char* err, size_t err_cap);
void ptq_spm_free(ptq_spm* sp);

int ptq_spm_piece_size(const ptq_spm* sp);
int ptq_spm_bos_id(const ptq_spm* sp);  // -1 when the model defines none
int ptq_spm_eos_id(const ptq_spm* sp);
int ptq_spm_unk_id(const ptq_spm* sp);
int ptq_spm_pad_id(const ptq_spm* sp);

// Encodes text (not NUL-terminated, `len` bytes) into ids. On success returns a malloc'd array of
// *n_out ids that the caller releases with ptq_spm_free_buffer; on failure returns NULL.
int32_t* ptq_spm_encode(const ptq_spm* sp, const char* text, size_t len, size_t* n_out, char* err,
                        size_t err_cap);
// Decodes ids into a malloc'd UTF-8 string of *len_out bytes (NUL-terminated); NULL on failure.
char* ptq_spm_decode(const ptq_spm* sp, const int32_t* ids, size_t n, size_t* len_out, char* err,
                     size_t err_cap);
// The piece string of one id, malloc'd and NUL-terminated; NULL when the id is out of range.
char* ptq_spm_id_to_piece(const ptq_spm* sp, int32_t id);
void ptq_spm_free_buffer(void* p);

#ifdef __cplusplus
}
#endif

#endif
