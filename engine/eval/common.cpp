// Shared pieces of the protocols: size lists, seeds, books, fillers.
#include "engine/eval/eval.h"
#include "engine/eval/eval_internal.h"

#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <dirent.h>
#include <sys/stat.h>

namespace mm::eval {

namespace {

std::vector<std::string> splitList(const std::string& list)
{
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(list);
    while (std::getline(in, item, ','))
        if (!item.empty())
            out.push_back(item);
    if (out.empty())
        throw std::invalid_argument("empty list '" + list + "'");
    return out;
}

}  // namespace

std::vector<int64_t> parseSizes(const std::string& list)
{
    std::vector<int64_t> out;
    for (const std::string& item : splitList(list)) {
        std::string digits = item;
        int64_t scale = 1;
        const char last = digits.back();
        if (last == 'k' || last == 'K')
            scale = 1024;
        else if (last == 'm' || last == 'M')
            scale = 1024 * 1024;
        if (scale != 1)
            digits.pop_back();
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(digits, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (digits.empty() || used != digits.size() || v < 0)
            throw std::invalid_argument("'" + item + "' is not a size (examples: 512, 1k, 64k, 1M)");
        out.push_back(v * scale);
    }
    return out;
}

std::vector<double> parseFractions(const std::string& list)
{
    std::vector<double> out;
    for (const std::string& item : splitList(list)) {
        size_t used = 0;
        double v = -1;
        try {
            v = std::stod(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || !(v >= 0 && v <= 1))
            throw std::invalid_argument("'" + item + "' is not a depth between 0 and 1");
        out.push_back(v);
    }
    return out;
}

std::string sizeLabel(int64_t n)
{
    if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
        return std::to_string(n / (1024 * 1024)) + "M";
    if (n >= 1024 && n % 1024 == 0)
        return std::to_string(n / 1024) + "k";
    return std::to_string(n);
}

uint64_t caseSeed(uint64_t seed, std::initializer_list<uint64_t> parts)
{
    auto mix = [](uint64_t z) {
        z += 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    };
    uint64_t h = mix(seed);
    for (uint64_t p : parts)
        h = mix(h ^ mix(p));
    return h;
}

// ---- books -------------------------------------------------------------------------

std::vector<std::string> listBookFiles(const std::vector<std::string>& pathsOrDirs)
{
    // POSIX, not std::filesystem: pip LibTorch 2.x exports its own std::filesystem symbols
    // and calls resolved to them crash (see engine/engine.cpp).
    std::vector<std::string> files;
    for (const std::string& p : pathsOrDirs) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0)
            throw std::runtime_error(p + ": no such file or directory");
        if (S_ISDIR(st.st_mode)) {
            std::vector<std::string> inDir;
            if (DIR* d = ::opendir(p.c_str())) {
                while (const dirent* e = ::readdir(d)) {
                    const std::string name = e->d_name;
                    const std::string path = p + (p.back() == '/' ? "" : "/") + name;
                    struct stat fs {};
                    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".txt") == 0 &&
                        ::stat(path.c_str(), &fs) == 0 && S_ISREG(fs.st_mode))
                        inDir.push_back(path);
                }
                ::closedir(d);
            } else {
                throw std::runtime_error(p + ": cannot list the directory");
            }
            std::sort(inDir.begin(), inDir.end());
            files.insert(files.end(), inDir.begin(), inDir.end());
        } else {
            files.push_back(p);
        }
    }
    if (files.empty())
        throw std::runtime_error("no books (*.txt files) found in the given paths");
    return files;
}

std::vector<Book> loadBooks(const std::vector<std::string>& files, const Tokenizer& tok, const RunContext& ctx)
{
    std::vector<Book> books;
    for (const std::string& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in)
            throw std::runtime_error(f + ": cannot open");
        std::ostringstream s;
        s << in.rdbuf();
        Book b;
        b.name = f.substr(f.find_last_of('/') == std::string::npos ? 0 : f.find_last_of('/') + 1);
        b.tokens = tok.encode(s.str());
        if (ctx.progress)
            ctx.progress("book " + b.name + ": " + std::to_string(b.tokens.size()) + " tokens");
        books.push_back(std::move(b));
    }
    return books;
}

// ---- filler ------------------------------------------------------------------------

std::vector<int32_t> Filler::take(int64_t from, int64_t count) const
{
    std::vector<int32_t> out;
    if (count <= 0)
        return out;
    if (tokens.empty())
        throw std::invalid_argument("empty filler");
    out.reserve(count);
    const int64_t n = static_cast<int64_t>(tokens.size());
    int64_t i = (offset + from) % n;
    for (int64_t k = 0; k < count; ++k) {
        out.push_back(tokens[i]);
        if (++i == n)
            i = 0;
    }
    return out;
}

Filler repeatFiller(const Tokenizer& tok)
{
    Filler f;
    f.tokens = tok.encode(" The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.");
    return f;
}

Filler bookFiller(const std::vector<Book>& books, std::mt19937_64& rng)
{
    std::vector<size_t> usable;
    for (size_t i = 0; i < books.size(); ++i)
        if (!books[i].tokens.empty())
            usable.push_back(i);
    if (usable.empty())
        throw std::invalid_argument("filler 'books' needs --books with at least one non-empty book");
    const Book& b = books[usable[std::uniform_int_distribution<size_t>(0, usable.size() - 1)(rng)]];
    Filler f;
    f.tokens = b.tokens;
    f.offset = std::uniform_int_distribution<int64_t>(0, static_cast<int64_t>(b.tokens.size()) - 1)(rng);
    return f;
}

std::string randomFiveDigits(std::mt19937_64& rng)
{
    return std::to_string(std::uniform_int_distribution<int>(10000, 99999)(rng));
}

// ---- internal helpers --------------------------------------------------------------

ReadResult readTokens(const Model& model, State& state, const std::vector<int32_t>& tokens, const ReadFlags& flags,
                      const RunContext& ctx, const std::string& what)
{
    ReadOptions opt;
    opt.surprisal = flags.surprisal;
    opt.importance = false;
    opt.noteEvents = false;
    opt.noPool = flags.noPool;
    opt.layerOutputs = flags.layerOutputs;
    opt.cancel = ctx.cancel;
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    if (ctx.progress && tokens.size() > 4096) {
        opt.onProgress = [&](int64_t done, int64_t total) {
            const auto now = std::chrono::steady_clock::now();
            if (done < total && std::chrono::duration<double>(now - last).count() < 2.0)
                return;
            last = now;
            const double s = std::chrono::duration<double>(now - start).count();
            ctx.progress(what + ": read " + std::to_string(done) + " / " + std::to_string(total) + " tokens (" +
                         std::to_string(static_cast<int64_t>(done / std::max(s, 1e-9))) + " tokens/s)");
        };
    }
    ReadResult r = model.read(state, tokens, opt);
    return r;
}

}  // namespace mm::eval
