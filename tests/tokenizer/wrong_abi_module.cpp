// A module that has the tokenizer's version function but reports another ABI version:
// the loader must refuse it before calling anything else.
#include <cstdint>

extern "C" __attribute__((visibility("default"))) int32_t mm_spm_abi_version(void)
{
    return 999;
}
