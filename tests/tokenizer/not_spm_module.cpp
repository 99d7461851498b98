// A loadable module without the tokenizer's C API: the loader must name the missing
// function instead of crashing.
extern "C" __attribute__((visibility("default"))) int memmamba_not_a_tokenizer(void)
{
    return 42;
}
