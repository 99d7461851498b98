// The C API of the tokenizer module libmemmamba_spm.so (spm_module.cpp), the only code
// that links sentencepiece. tokenizer.cpp loads the module with dlopen and resolves
// these functions with dlsym, so only plain C types cross the boundary: no C++
// objects, no allocation in one library freed in the other.
//
// Buffers: functions that produce a variable amount of output take a caller buffer
// and its capacity and return the size they need. When that exceeds the capacity the
// output was cut short: call again with a buffer at least that large.
// Errors: a negative return; a one-line message is written to err (NUL-terminated,
// cut to err_cap).
// Threads: a loaded handle is read-only, so every function taking a const handle may
// run on several threads at once (sentencepiece's encode and decode are const).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bumped whenever a signature below changes; the loader refuses another version.
#define MM_SPM_ABI_VERSION 1

typedef struct mm_spm mm_spm;

/// The module is built with hidden visibility; only these functions are exported.
#define MM_SPM_EXPORT __attribute__((visibility("default")))

MM_SPM_EXPORT int32_t mm_spm_abi_version(void);

/// Loads a sentencepiece model file. NULL on failure, with the reason in err.
MM_SPM_EXPORT mm_spm* mm_spm_load(const char* model_path, char* err, size_t err_cap);
MM_SPM_EXPORT void mm_spm_free(mm_spm* spm);

MM_SPM_EXPORT int32_t mm_spm_vocab_size(const mm_spm* spm);
MM_SPM_EXPORT int32_t mm_spm_unk_id(const mm_spm* spm);
MM_SPM_EXPORT int32_t mm_spm_bos_id(const mm_spm* spm);
MM_SPM_EXPORT int32_t mm_spm_eos_id(const mm_spm* spm);
MM_SPM_EXPORT int32_t mm_spm_pad_id(const mm_spm* spm);

/// Encodes text[0, len). Writes up to cap tokens: ids and their byte spans
/// [begins[i], ends[i]), which tile the text (see docs/tokenizer.md). Returns the
/// number of tokens, or -1 on error. A text of n bytes never needs more than n tokens.
MM_SPM_EXPORT int64_t mm_spm_encode(const mm_spm* spm, const char* text, size_t len, int32_t* ids,
                      uint32_t* begins, uint32_t* ends, size_t cap, char* err,
                      size_t err_cap);

/// Decodes ids into UTF-8, writing up to cap bytes to out (not NUL-terminated).
/// Returns the decoded size, or -1 on error (e.g. an id out of range).
MM_SPM_EXPORT int64_t mm_spm_decode(const mm_spm* spm, const int32_t* ids, size_t n, char* out,
                      size_t cap, char* err, size_t err_cap);

/// The piece of an id, up to cap bytes to out; returns its size, -1 if out of range.
MM_SPM_EXPORT int64_t mm_spm_id_to_piece(const mm_spm* spm, int32_t id, char* out, size_t cap);
/// The id of a piece, or the unknown id when the vocabulary lacks it.
MM_SPM_EXPORT int32_t mm_spm_piece_to_id(const mm_spm* spm, const char* piece, size_t len);

#ifdef __cplusplus
}
#endif
