// `memmamba eval`: the evaluation protocols of docs/spec/MODEL.md (engine/eval) on the command line,
// with tables, JSON and optional charts (app/cli/cmd_eval.cpp, app/cli/eval_plot.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <QCoreApplication>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mm::cli {

/// `memmamba eval <ppl|passkey|multikey|fidelity|speed> [options]` (args after "eval"; a
/// leading "eval" is skipped). Prints a table, or one JSON object with --json; progress on
/// stderr. Returns 0; 2 after one line on stderr for bad arguments; 1 for other errors;
/// 130 when interrupted (Ctrl-C), after printing the partial results.
int runEval(const std::vector<std::string>& args);

/// The application object for main(): a QApplication (offscreen) for `eval ... --plot`
/// when charts are compiled in, else a QCoreApplication.
std::unique_ptr<QCoreApplication> createApplication(int& argc, char** argv);

/// What a chart shows: curves of (x, y) points.
struct ChartSpec {
    std::string title, xLabel, yLabel;
    bool logX = false;
    bool logY = false;  ///< for quantities spanning orders of magnitude (the ETMF proxy)
    std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>> series;
    bool fixedY = false;  ///< y axis from yMin to yMax instead of the data's range
    double yMin = 0, yMax = 1;
};
/// The chart of an eval result (the JSON runEval prints).
ChartSpec chartFor(const nlohmann::json& result);

#ifdef MEMMAMBA_EVAL_PLOT
/// Renders a chart with Qt Charts into a PNG (needs a QApplication). Throws
/// std::runtime_error when the file cannot be written.
void renderChart(const ChartSpec& spec, const std::string& pngPath);
std::unique_ptr<QCoreApplication> createGuiApplication(int& argc, char** argv);
#endif

}  // namespace mm::cli
