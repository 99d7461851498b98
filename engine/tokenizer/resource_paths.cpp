// Run-time lookup of the tokenizer module and the resources folder (declared in
// tokenizer.h). The order is: an environment override, then the installed layout
// beside the running executable, then the build or source tree baked in at compile
// time, so installed programs, tests and programs run from build/bin all find them.
#include "engine/tokenizer/tokenizer.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifndef MEMMAMBA_SPM_MODULE_BUILD_PATH
#error "MEMMAMBA_SPM_MODULE_BUILD_PATH must be defined (engine/tokenizer/CMakeLists.txt)"
#endif
#ifndef MEMMAMBA_RESOURCE_DIR
#error "MEMMAMBA_RESOURCE_DIR must be defined (engine/tokenizer/CMakeLists.txt)"
#endif

namespace mm {

namespace fs = std::filesystem;

namespace {

std::string environmentValue(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
}

/// The folder of the running executable, empty if /proc/self/exe cannot be read.
fs::path executableDir()
{
    std::error_code error;
    const fs::path exe = fs::read_symlink("/proc/self/exe", error);
    return error ? fs::path() : exe.parent_path();
}

bool pathExists(const fs::path& path)
{
    std::error_code error;
    return fs::exists(path, error);
}

}  // namespace

std::string spmModulePath()
{
    if (std::string overridden = environmentValue("MEMMAMBA_SPM_MODULE"); !overridden.empty())
        return overridden;
    if (const fs::path dir = executableDir(); !dir.empty()) {
        for (const char* relative : {"../lib/libmemmamba_spm.so", "../lib/memmamba/libmemmamba_spm.so"}) {
            const fs::path candidate = (dir / relative).lexically_normal();
            if (pathExists(candidate))
                return candidate.string();
        }
    }
    return MEMMAMBA_SPM_MODULE_BUILD_PATH;
}

std::string resourceDir()
{
    if (std::string overridden = environmentValue("MEMMAMBA_RESOURCES"); !overridden.empty())
        return overridden;
    if (const fs::path dir = executableDir(); !dir.empty()) {
        const fs::path installed = (dir / "../share/memmamba").lexically_normal();
        if (pathExists(installed))
            return installed.string();
    }
    return MEMMAMBA_RESOURCE_DIR;
}

std::string defaultTokenizerModelPath()
{
    return resourceDir() + "/tokenizer/memmamba.model";
}

}  // namespace mm
