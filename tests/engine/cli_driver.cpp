// Runs the engine's command-line pieces without the Qt command line:
//   mm_engine_cli_driver info [MODEL_DIR] [DEVICE]
//   mm_engine_cli_driver bench ingest --tokens N ...
#include "engine_commands.h"

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "info") {
        const auto j = mm::cli::engineInfoJson(args.size() > 1 ? args[1] : "", args.size() > 2 ? args[2] : "auto");
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    if (!args.empty() && args[0] == "bench")
        return mm::cli::runBench({args.begin() + 1, args.end()});
    std::fprintf(stderr, "usage: mm_engine_cli_driver info [DIR] [DEVICE] | bench ingest --tokens N ...\n");
    return 2;
}
