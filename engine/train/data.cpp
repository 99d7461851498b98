#include "engine/train/data.h"

#include "engine/eval/facts.h"

#include "engine/eval/eval.h"
#include "engine/tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mm::engine::train {

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error(path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int64_t fileSize(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

std::string baseName(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

const char kCacheMagic[] = "MMTOKCACHE1\n";

nlohmann::json cacheHeader(const std::vector<std::string>& files, const Tokenizer& tok)
{
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& f : files)
        list.push_back({baseName(f), fileSize(f)});
    return {{"tokenizer", tok.fingerprint()}, {"files", list}};
}

bool readCache(const std::string& path, const nlohmann::json& header, TokenCorpus& out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    std::string magic(sizeof(kCacheMagic) - 1, '\0'), line;
    in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
    if (magic != kCacheMagic || !std::getline(in, line))
        return false;
    if (nlohmann::json::parse(line, nullptr, false) != header)
        return false;
    int64_t books = 0, tokens = 0;
    in.read(reinterpret_cast<char*>(&books), sizeof books);
    in.read(reinterpret_cast<char*>(&tokens), sizeof tokens);
    if (!in || books < 0 || tokens < 0)
        return false;
    out.bookStart.resize(books);
    out.stream.resize(tokens);
    in.read(reinterpret_cast<char*>(out.bookStart.data()), static_cast<std::streamsize>(books * sizeof(int64_t)));
    in.read(reinterpret_cast<char*>(out.stream.data()), static_cast<std::streamsize>(tokens * sizeof(int32_t)));
    if (!in)
        return false;
    out.names.clear();
    for (const auto& f : header["files"])
        out.names.push_back(f[0].get<std::string>());
    return true;
}

void writeCache(const std::string& path, const nlohmann::json& header, const TokenCorpus& c)
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        const int64_t books = static_cast<int64_t>(c.bookStart.size()), tokens = static_cast<int64_t>(c.stream.size());
        out.write(kCacheMagic, sizeof(kCacheMagic) - 1);
        out << header.dump() << "\n";
        out.write(reinterpret_cast<const char*>(&books), sizeof books);
        out.write(reinterpret_cast<const char*>(&tokens), sizeof tokens);
        out.write(reinterpret_cast<const char*>(c.bookStart.data()), static_cast<std::streamsize>(books * sizeof(int64_t)));
        out.write(reinterpret_cast<const char*>(c.stream.data()), static_cast<std::streamsize>(tokens * sizeof(int32_t)));
        if (!out.flush())
            throw std::runtime_error(tmp + ": write failed");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error(path + ": cannot write the token cache");
}

}  // namespace

int64_t TokenCorpus::bookTokens(size_t i) const
{
    const int64_t end = i + 1 < bookStart.size() ? bookStart[i + 1] : static_cast<int64_t>(stream.size());
    return end - bookStart[i] - 1;
}

std::vector<std::string> listTextFiles(const std::string& dir)
{
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        throw std::runtime_error(dir + ": cannot open the folder");
    std::vector<std::string> out;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".txt") == 0)
            out.push_back(dir + "/" + name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    if (out.empty())
        throw std::runtime_error(dir + ": no .txt books in this folder");
    return out;
}

TokenCorpus tokenizeBooks(const std::vector<std::string>& files, const Tokenizer& tok, int32_t docId, int threads)
{
    std::vector<std::vector<int32_t>> encoded(files.size());
    std::vector<std::string> errors(files.size());
    std::atomic<size_t> nextFile{0};
    auto work = [&] {
        for (size_t i = nextFile++; i < files.size(); i = nextFile++) {
            try {
                encoded[i] = tok.encode(readFile(files[i]));
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < std::max(1, threads); ++t)
        pool.emplace_back(work);
    for (std::thread& t : pool)
        t.join();
    TokenCorpus c;
    size_t total = 0;
    for (const auto& e : encoded)
        total += e.size() + 1;
    c.stream.reserve(total);
    for (size_t i = 0; i < files.size(); ++i) {
        if (!errors[i].empty())
            throw std::runtime_error(errors[i]);
        c.bookStart.push_back(static_cast<int64_t>(c.stream.size()));
        c.stream.push_back(docId);
        c.stream.insert(c.stream.end(), encoded[i].begin(), encoded[i].end());
        c.names.push_back(baseName(files[i]));
    }
    return c;
}

TokenCorpus loadCorpus(const std::string& dir, const Tokenizer& tok, int threads, const std::string& cachePath,
                       std::string* note)
{
    const std::vector<std::string> files = listTextFiles(dir);
    const nlohmann::json header = cacheHeader(files, tok);
    TokenCorpus c;
    if (!cachePath.empty() && readCache(cachePath, header, c)) {
        if (note)
            *note = "token cache " + cachePath;
        return c;
    }
    c = tokenizeBooks(files, tok, tok.docSeparatorId(), threads);
    if (!cachePath.empty())
        writeCache(cachePath, header, c);
    if (note)
        *note = "tokenized";
    return c;
}

BatchSampler::BatchSampler(const TokenCorpus& corpus, const Tokenizer* tok, SamplerOptions options, uint64_t seed)
    : m_corpus(corpus), m_tok(tok), m_opt(options), m_windows(seed)
{
    // See data.h: a seeding route evaluation never takes ("tran", "synt" tags).
    std::seed_seq seq{0x7472616eu, 0x73796e74u, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    m_synthetic.seed(seq);
    if (static_cast<int64_t>(corpus.stream.size()) < options.length + 2)
        throw std::runtime_error("the training books hold " + std::to_string(corpus.stream.size()) +
                                 " tokens, fewer than one window of " + std::to_string(options.length + 1));
    if (options.syntheticShare > 0 && !tok)
        throw std::invalid_argument("synthetic samples need the tokenizer");
}

std::vector<int32_t> BatchSampler::window(int64_t count)
{
    const int64_t n = static_cast<int64_t>(m_corpus.stream.size());
    const int64_t start = std::uniform_int_distribution<int64_t>(0, n - count)(m_windows);
    return {m_corpus.stream.begin() + start, m_corpus.stream.begin() + start + count};
}

unsigned parseTasks(const std::string& list)
{
    unsigned bits = 0;
    std::stringstream in(list);
    std::string name;
    while (std::getline(in, name, ',')) {
        if (name == "passkey")
            bits |= kTaskPasskey;
        else if (name == "multikey")
            bits |= kTaskMultiKey;
        else if (name == "fact")
            bits |= kTaskFact;
        else if (name == "all")
            bits |= kTaskAll;
        else
            throw std::invalid_argument("unknown synthetic task '" + name + "' (passkey, multikey, fact, all)");
    }
    if (!bits)
        throw std::invalid_argument("no synthetic task named");
    return bits;
}

std::string tasksToString(unsigned tasks)
{
    std::string s;
    for (const auto& [bit, name] : {std::pair{kTaskPasskey, "passkey"}, {kTaskMultiKey, "multikey"}, {kTaskFact, "fact"}})
        if (tasks & bit)
            s += (s.empty() ? "" : ",") + std::string(name);
    return s;
}

void BatchSampler::setTasks(unsigned tasks, int64_t minLength, int64_t maxLength)
{
    if (!tasks || minLength < 1 || maxLength < minLength)
        throw std::invalid_argument("setTasks: no task, or an empty length range");
    m_opt.tasks = tasks;
    m_opt.syntheticMin = minLength;
    m_opt.syntheticMax = maxLength;
}

BatchSampler::Sample BatchSampler::syntheticSample(int64_t contextLength)
{
    std::mt19937_64& rng = m_synthetic;
    const Tokenizer& tok = *m_tok;
    // The task: uniform over the enabled ones.
    std::vector<unsigned> enabled;
    for (unsigned bit : {kTaskPasskey, kTaskMultiKey, kTaskFact})
        if (m_opt.tasks & bit)
            enabled.push_back(bit);
    const unsigned task = enabled[std::uniform_int_distribution<size_t>(0, enabled.size() - 1)(rng)];
    // Book text without separators, `count` tokens from a random start.
    auto bookText = [&](int64_t count) {
        eval::Filler f;
        const int64_t n = static_cast<int64_t>(m_corpus.stream.size());
        const int64_t start = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(0, n - count - 1))(rng);
        for (int64_t i = start; i < std::min(n, start + count); ++i)
            if (m_corpus.stream[i] != tok.docSeparatorId())
                f.tokens.push_back(m_corpus.stream[i]);
        return f;
    };
    Sample s;
    if (task == kTaskFact) {
        // Book text with the fact planted at a random depth, then <q> question <a> answer </s>.
        s.kind = "fact";
        const eval::PlantedFact fact = eval::randomFact(rng);
        const std::vector<int32_t> sentence = tok.encode(fact.sentence);
        const std::vector<int32_t> question = tok.encode(fact.question), answer = tok.encode(fact.answer);
        const int64_t textTokens = std::max<int64_t>(0, contextLength - 1 - static_cast<int64_t>(sentence.size()));
        eval::Filler text = bookText(textTokens);
        if (text.tokens.empty())
            text = eval::repeatFiller(tok);
        const std::vector<int32_t> body = text.take(0, textTokens);
        const double depth = std::uniform_real_distribution<double>(0.0, 0.9)(rng);
        const int64_t at = static_cast<int64_t>(depth * static_cast<double>(body.size()));
        s.tokens.push_back(tok.bosId());
        s.tokens.insert(s.tokens.end(), body.begin(), body.begin() + at);
        s.tokens.insert(s.tokens.end(), sentence.begin(), sentence.end());
        s.factEnd = static_cast<int64_t>(s.tokens.size());
        s.tokens.insert(s.tokens.end(), body.begin() + at, body.end());
        s.questionStart = static_cast<int64_t>(s.tokens.size());
        s.tokens.push_back(tok.questionId());
        s.tokens.insert(s.tokens.end(), question.begin(), question.end());
        s.tokens.push_back(tok.answerId());
        // The answer and its </s> are both targets: `ask` stops at </s>.
        for (int32_t id : answer) {
            s.answerPositions.push_back(static_cast<int64_t>(s.tokens.size()));
            s.tokens.push_back(id);
        }
        s.answerPositions.push_back(static_cast<int64_t>(s.tokens.size()));
        s.tokens.push_back(tok.eosId());
        return s;
    }
    eval::Filler filler;
    const bool repeat = m_opt.filler == "repeat" ||
                        (m_opt.filler == "mixed" && std::uniform_int_distribution<int>(0, 1)(rng) == 0);
    filler = repeat ? eval::repeatFiller(tok) : bookText(contextLength);
    if (filler.tokens.empty())
        filler = eval::repeatFiller(tok);
    std::string key;
    std::vector<int32_t> question;
    if (task == kTaskPasskey) {
        s.kind = "passkey";
        key = eval::randomFiveDigits(rng);
        const double depth = std::uniform_real_distribution<double>(0.0, 0.9)(rng);
        const eval::PasskeyCase c = eval::makePasskeyCase(tok, filler, contextLength, depth, key);
        s.tokens = c.context;
        s.factEnd = c.needlePosition + c.needleTokens;
        question = c.question;
    } else {
        s.kind = "multikey";
        const int64_t nKeys = std::uniform_int_distribution<int64_t>(1, 4)(rng);
        const eval::MultiKeyCase c = eval::makeMultiKeyCase(tok, filler, contextLength, nKeys, rng);
        s.tokens = c.context;
        key = c.values[c.asked];
        const auto sentence = tok.encode(" The special magic number for " + c.keys[c.asked] + " is " + key + ".");
        s.factEnd = c.positions[c.asked] + static_cast<int64_t>(sentence.size());
        question = c.question;
    }
    s.questionStart = static_cast<int64_t>(s.tokens.size());
    s.tokens.insert(s.tokens.end(), question.begin(), question.end());
    // The answer encoded on its own, as evaluation's greedy decoding continues the question.
    const std::vector<int32_t> answer = tok.encode(" " + key);
    for (int32_t id : answer) {
        s.answerPositions.push_back(static_cast<int64_t>(s.tokens.size()));
        s.tokens.push_back(id);
    }
    // The full stop is part of the answer: a model trained on answers alone learns to
    // stop after the digits, as evaluation's greedy decoding requires.
    for (int32_t id : tok.encode(".")) {
        s.answerPositions.push_back(static_cast<int64_t>(s.tokens.size()));
        s.tokens.push_back(id);
    }
    return s;
}

Batch BatchSampler::next()
{
    const int64_t Bt = m_opt.rows, T = m_opt.length, C = m_opt.noteChunk;
    // Room left after a sample's context for its question, answer, "." and <doc> (at most
    // some 60 tokens, a planted fact's question included), plus the gap to the next note
    // chunk when samples are isolated: a context of L tokens at row position `at` fits
    // when at + L + tail <= T.
    const int64_t kTail = 96 + (m_opt.isolate ? C : 0);
    const int32_t pad = m_tok && m_tok->padId() >= 0 ? m_tok->padId() : (m_tok ? m_tok->docSeparatorId() : 0);
    Batch b;
    b.rows = Bt;
    b.length = T;
    b.tokens.reserve(Bt * (T + 1));
    b.answerMask.assign(Bt * T, 0);
    b.answerSample.assign(Bt * T, -1);
    b.lossMask.assign(Bt * T, 1);
    b.segmentStarts.assign(Bt, {});
    b.dropPoint.assign(Bt, -1);
    b.synthetic.assign(Bt, 0);
    b.samples.assign(Bt, 0);
    const int64_t maxContext = std::min(m_opt.syntheticMax, T - kTail);
    int32_t sampleId = 0;
    for (int64_t r = 0; r < Bt; ++r) {
        const bool synthetic = m_opt.syntheticShare > 0 && maxContext >= m_opt.syntheticMin &&
                               std::uniform_real_distribution<double>(0, 1)(m_windows) < m_opt.syntheticShare;
        if (!synthetic) {
            const std::vector<int32_t> w = window(T + 1);
            b.tokens.insert(b.tokens.end(), w.begin(), w.end());
            continue;
        }
        // Draw order (window stream: row kind, length 1, [length 2, ...,] book window;
        // synthetic stream: one case per sample) is fixed, so a seed and a saved state
        // reproduce the batch.
        std::vector<int32_t> row;
        row.reserve(T + 1);
        // A new segment at `row.size()`: pad up to the next note chunk (the pads and the
        // target that would cross the boundary are not trained) and note where it starts.
        auto startSegment = [&] {
            if (!m_opt.isolate)
                return;
            const int64_t at = static_cast<int64_t>(row.size());
            const int64_t next = (at + C - 1) / C * C;
            if (next >= T)
                return;
            for (int64_t i = std::max<int64_t>(at - 1, 0); i < next && i < T; ++i)
                b.lossMask[r * T + i] = 0;
            row.resize(next, pad);
            b.segmentStarts[r].push_back(next);
        };
        int64_t L = std::uniform_int_distribution<int64_t>(m_opt.syntheticMin, maxContext)(m_windows);
        for (;;) {
            Sample s = syntheticSample(L);
            const int64_t at = static_cast<int64_t>(row.size());
            if (at + static_cast<int64_t>(s.tokens.size()) + 1 > T + 1) {
                if (at > 0)
                    break;  // cannot happen with kTail: a later sample never crosses the row's end
                s.tokens.resize(T);
            }
            row.insert(row.end(), s.tokens.begin(), s.tokens.end());
            row.push_back(m_tok->docSeparatorId());
            for (int64_t p : s.answerPositions)
                if (at + p >= 1 && at + p <= T) {
                    b.answerMask[r * T + at + p - 1] = 1;
                    b.answerSample[r * T + at + p - 1] = sampleId;
                }
            ++sampleId;
            if (at == 0) {
                const int64_t drop = (s.factEnd + C - 1) / C * C;
                if (drop > 0 && drop <= s.questionStart && drop < T)
                    b.dropPoint[r] = drop;
            }
            ++b.samples[r];
            if (!m_opt.syntheticPacked)
                break;
            L = std::uniform_int_distribution<int64_t>(m_opt.syntheticMin, maxContext)(m_windows);
            const int64_t gap = m_opt.isolate ? (C - static_cast<int64_t>(row.size()) % C) % C : 0;
            if (static_cast<int64_t>(row.size()) + gap + L + kTail - (m_opt.isolate ? C : 0) > T)
                break;
            startSegment();
        }
        startSegment();
        if (static_cast<int64_t>(row.size()) < T + 1) {
            const std::vector<int32_t> w = window(T + 1 - static_cast<int64_t>(row.size()));
            row.insert(row.end(), w.begin(), w.end());
        }
        row.resize(T + 1);
        b.tokens.insert(b.tokens.end(), row.begin(), row.end());
        b.synthetic[r] = 1;
    }
    b.answerSamples = sampleId;
    return b;
}

std::string BatchSampler::saveState() const
{
    std::ostringstream s;
    s << m_windows << "\n" << m_synthetic;
    return s.str();
}

void BatchSampler::loadState(const std::string& state)
{
    std::istringstream s(state);
    s >> m_windows >> m_synthetic;
    if (!s)
        throw std::runtime_error("checkpoint: unreadable data sampler state");
}

std::vector<std::vector<int32_t>> validationWindows(const TokenCorpus& corpus, int64_t length, int64_t count)
{
    std::vector<std::vector<int32_t>> out;
    const int64_t n = static_cast<int64_t>(corpus.stream.size()), span = length + 1;
    if (n < span || count <= 0)
        return out;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t start = count == 1 ? 0 : i * (n - span) / (count - 1);
        out.emplace_back(corpus.stream.begin() + start, corpus.stream.begin() + start + span);
    }
    return out;
}

}  // namespace mm::engine::train
