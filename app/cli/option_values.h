// Typed values of command-line options for the commands that parse std::string arguments
// without Qt (train, eval, bench: memmamba-train links no Qt). A bad value throws
// BadArgs, whose message is the one line the command prints before exiting with 2.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace mm::cli {

struct BadArgs : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// An integer option value >= min: "--steps must be an integer >= 1, got 'x'".
inline int64_t integerValue(const std::string& option, const std::string& value, int64_t min)
{
    size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || v < min)
        throw BadArgs(option + " must be an integer >= " + std::to_string(min) + ", got '" + value + "'");
    return v;
}

/// A floating-point option value in [min, max].
inline double numberValue(const std::string& option, const std::string& value, double min, double max)
{
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || !(v >= min && v <= max))
        throw BadArgs(option + " must be a number in [" + std::to_string(min) + ", " + std::to_string(max) +
                      "], got '" + value + "'");
    return v;
}

}  // namespace mm::cli
