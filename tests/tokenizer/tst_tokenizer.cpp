// The shipped tokenizer through mm::Tokenizer: round trips, spans that tile the text
// and match their pieces, split digits, control symbols, newlines through byte
// fallback, load errors, path lookup and concurrent use.
#include "engine/tokenizer/tokenizer.h"
#include "engine/util/sha256.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

const std::string kChapterPath = MEMMAMBA_TOKENIZER_TEST_DATA "/dombey_chapter1.txt";

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeFile(const std::string& path, const std::string& content)
{
    std::ofstream(path, std::ios::binary) << content;
}

/// The byte of a byte-fallback piece "<0xNN>", or -1 for any other piece.
int byteOfPiece(const std::string& piece)
{
    if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>')
        return -1;
    return std::stoi(piece.substr(3, 2), nullptr, 16);
}

/// The source text a normal piece stands for: U+2581 (the whitespace mark) is a space.
std::string pieceSurface(const std::string& piece)
{
    static const std::string kSpaceMark = "\xE2\x96\x81";
    std::string surface;
    for (size_t i = 0; i < piece.size();) {
        if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
            surface.push_back(' ');
            i += kSpaceMark.size();
        } else {
            surface.push_back(piece[i++]);
        }
    }
    return surface;
}

std::string errorOfLoad(const std::string& model, const std::string& module = {})
{
    try {
        mm::Tokenizer::load(model, module);
    } catch (const mm::TokenizerError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

class TokenizerTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void vocabularyAndSpecialIds();
    void roundTrip_data();
    void roundTrip();
    void spansTileAndMatchPieces_data();
    void spansTileAndMatchPieces();
    void roundTripWholeChapter();
    void spansOfWholeChapter();
    void newlineIsOneByteToken();
    void multiByteFallbackGetsOneByteEach();
    void encodingIsChunkInvariantAtNewlines();
    void invalidUtf8StillTiles();
    void digitsAreSplit();
    void controlSymbolsNeverComeFromText();
    void decodeRejectsOutOfRangeIds();
    void fingerprintIsVocabAndModelHash();
    void missingModel();
    void corruptModel();
    void truncatedModel();
    void missingModule();
    void moduleWithoutApi();
    void moduleOfAnotherAbiVersion();
    void notASharedObject();
    void pathLookupHonoursEnvironment();
    void concurrentEncodeAndDecode();

private:
    void addTextRows();
    std::unique_ptr<mm::Tokenizer> m_tokenizer;
};

void TokenizerTest::initTestCase()
{
    m_tokenizer = mm::Tokenizer::loadDefault();
    QVERIFY(m_tokenizer != nullptr);
}

void TokenizerTest::vocabularyAndSpecialIds()
{
    const mm::Tokenizer& t = *m_tokenizer;
    QCOMPARE(t.vocabSize(), 8192);
    QCOMPARE(t.unkId(), 0);
    QCOMPARE(t.bosId(), 1);
    QCOMPARE(t.eosId(), 2);
    QCOMPARE(t.padId(), 3);
    QCOMPARE(t.docSeparatorId(), 4);
    QCOMPARE(t.questionId(), 5);
    QCOMPARE(t.answerId(), 6);
    const std::vector<std::string> controls = {"<doc>",       "<q>",         "<a>",
                                               "<note>",      "<reserved0>", "<reserved1>",
                                               "<reserved2>", "<reserved3>"};
    for (size_t i = 0; i < controls.size(); ++i) {
        QCOMPARE(t.pieceToId(controls[i]), int32_t(4 + i));
        QCOMPARE(t.idToPiece(int32_t(4 + i)), controls[i]);
    }
    QCOMPARE(t.pieceToId("no such piece in the vocabulary"), t.unkId());
    QCOMPARE(t.idToPiece(t.pieceToId("<0x0A>")), std::string("<0x0A>"));
}

void TokenizerTest::addTextRows()
{
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("empty") << QByteArray("");
    QTest::newRow("ascii") << QByteArray("It was the best of times, it was the worst of times.");
    QTest::newRow("accents") << QByteArray("Café, naïve, résumé, Ångström, Øresund, façade, œuvre");
    QTest::newRow("cjk") << QByteArray("東京は日本の首都です。北京欢迎你。한국어 텍스트");
    QTest::newRow("emoji") << QByteArray("Books 📚 and tea ☕ and 👩‍👩‍👧 family 🏳️‍🌈");
    QTest::newRow("greek") << QByteArray("Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν");
    QTest::newRow("mixed newlines") << QByteArray("one\ntwo\r\nthree\rfour\n\n\nfive\n");
    QTest::newRow("space runs") << QByteArray("  leading   inner      trailing   ");
    QTest::newRow("tabs") << QByteArray("\tcol1\tcol2\t\t col3 \t");
    QTest::newRow("digits") << QByteArray("In 1848, 3.14159 and 0007 and -42 and 1,000,000.");
    QTest::newRow("control chars") << QByteArray("bell\x07 escape\x1b[0m nul-free\x01\x7f end");
    QTest::newRow("markup-like") << QByteArray("<doc> <q>why?</q> <a> <s></s> <pad> <unk> <0x41>");
    QTest::newRow("hard-wrapped")
        << QByteArray("“Dombey,” said Mrs Chick, “and Son!”\n"
                      "  ‘Oh, indeed,’ — returned Miss Tox…\n\n"
                      "CHAPTER II.\n");
}

void TokenizerTest::roundTrip_data()
{
    addTextRows();
}

void TokenizerTest::roundTrip()
{
    QFETCH(QByteArray, text);
    const std::string source = text.toStdString();
    const std::vector<int32_t> ids = m_tokenizer->encode(source);
    QCOMPARE(m_tokenizer->decode(ids), source);
    QCOMPARE(ids.empty(), source.empty());
}

void TokenizerTest::spansTileAndMatchPieces_data()
{
    addTextRows();
}

// Checks that spans tile `source` and that each span holds what its piece stands for.
static void verifySpans(const mm::Tokenizer& tokenizer, const std::string& source)
{
    const std::vector<mm::TokenSpan> spans = tokenizer.encodeWithSpans(source);
    QCOMPARE(spans.empty(), source.empty());
    uint32_t cursor = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
        const mm::TokenSpan& span = spans[i];
        QVERIFY2(span.begin == cursor,
                 qPrintable(QString("token %1 begins at %2, previous ended at %3")
                                .arg(i).arg(span.begin).arg(cursor)));
        QVERIFY2(span.end > span.begin, qPrintable(QString("token %1 has an empty span").arg(i)));
        cursor = span.end;
        const std::string piece = tokenizer.idToPiece(span.id);
        const std::string covered = source.substr(span.begin, span.end - span.begin);
        if (const int byte = byteOfPiece(piece); byte >= 0) {
            QCOMPARE(covered.size(), size_t(1));
            QCOMPARE(int(static_cast<unsigned char>(covered[0])), byte);
        } else {
            QVERIFY2(covered == pieceSurface(piece),
                     qPrintable(QString("token %1 piece '%2' covers '%3'")
                                    .arg(i)
                                    .arg(QString::fromStdString(piece), QString::fromStdString(covered))));
        }
    }
    QCOMPARE(size_t(cursor), source.size());
    // The ids of encodeWithSpans are those of encode.
    std::vector<int32_t> ids;
    for (const mm::TokenSpan& span : spans)
        ids.push_back(span.id);
    QCOMPARE(ids, tokenizer.encode(source));
}

void TokenizerTest::spansTileAndMatchPieces()
{
    QFETCH(QByteArray, text);
    verifySpans(*m_tokenizer, text.toStdString());
}

void TokenizerTest::roundTripWholeChapter()
{
    const std::string chapter = readFile(kChapterPath);
    QVERIFY2(chapter.size() > 20000, kChapterPath.c_str());
    const std::vector<int32_t> ids = m_tokenizer->encode(chapter);
    QCOMPARE(m_tokenizer->decode(ids), chapter);
    // A real model compresses English prose well beyond byte level.
    const double bytesPerToken = double(chapter.size()) / double(ids.size());
    qInfo("chapter: %zu bytes, %zu tokens, %.2f bytes a token", chapter.size(), ids.size(),
          bytesPerToken);
    QVERIFY2(bytesPerToken > 3.0, qPrintable(QString::number(bytesPerToken)));
}

void TokenizerTest::spansOfWholeChapter()
{
    verifySpans(*m_tokenizer, readFile(kChapterPath));
}

void TokenizerTest::newlineIsOneByteToken()
{
    const int32_t newlineId = m_tokenizer->pieceToId("<0x0A>");
    QVERIFY(newlineId != m_tokenizer->unkId());
    const std::string text = "end of line\nstart of next";
    const std::vector<mm::TokenSpan> spans = m_tokenizer->encodeWithSpans(text);
    int newlineTokens = 0;
    for (const mm::TokenSpan& span : spans) {
        if (span.id == newlineId) {
            ++newlineTokens;
            QCOMPARE(span.begin, uint32_t(text.find('\n')));
            QCOMPARE(span.end, span.begin + 1);
        }
    }
    QCOMPARE(newlineTokens, 1);
    QCOMPARE(m_tokenizer->decode({newlineId}), std::string("\n"));
}

void TokenizerTest::multiByteFallbackGetsOneByteEach()
{
    // A rare CJK character is not in the vocabulary: three byte pieces, one byte each.
    const std::string text = "\xE9\xBE\x98";  // U+9F98
    const std::vector<mm::TokenSpan> spans = m_tokenizer->encodeWithSpans(text);
    QCOMPARE(spans.size(), size_t(3));
    for (uint32_t i = 0; i < 3; ++i) {
        QCOMPARE(spans[i].begin, i);
        QCOMPARE(spans[i].end, i + 1);
        QCOMPARE(byteOfPiece(m_tokenizer->idToPiece(spans[i].id)),
                 int(static_cast<unsigned char>(text[i])));
    }
}

void TokenizerTest::encodingIsChunkInvariantAtNewlines()
{
    // Encoding in pieces cut at newlines (as a resumable ingest does) gives the ids of
    // encoding the whole text: the module encodes line by line.
    const std::string chapter = readFile(kChapterPath);
    const std::vector<mm::TokenSpan> whole = m_tokenizer->encodeWithSpans(chapter);
    for (const size_t linesPerChunk : {1u, 2u, 7u, 50u}) {
        std::vector<mm::TokenSpan> pieced;
        size_t chunkBegin = 0;
        while (chunkBegin < chapter.size()) {
            size_t chunkEnd = chunkBegin;
            for (size_t line = 0; line < linesPerChunk && chunkEnd < chapter.size(); ++line)
                chunkEnd = std::min(chapter.find('\n', chunkEnd), chapter.size()) + 1;
            chunkEnd = std::min(chunkEnd, chapter.size());
            for (mm::TokenSpan span :
                 m_tokenizer->encodeWithSpans(std::string_view(chapter).substr(chunkBegin, chunkEnd - chunkBegin))) {
                span.begin += uint32_t(chunkBegin);
                span.end += uint32_t(chunkBegin);
                pieced.push_back(span);
            }
            chunkBegin = chunkEnd;
        }
        QCOMPARE(pieced.size(), whole.size());
        for (size_t i = 0; i < whole.size(); ++i) {
            QVERIFY2(pieced[i].id == whole[i].id && pieced[i].begin == whole[i].begin &&
                         pieced[i].end == whole[i].end,
                     qPrintable(QString("%1 lines a chunk: token %2 differs").arg(linesPerChunk).arg(i)));
        }
    }
}

void TokenizerTest::invalidUtf8StillTiles()
{
    // Invalid UTF-8 is read as U+FFFD (sentencepiece's normaliser): its three byte pieces
    // share the one bad byte (two empty spans, the last covers it); decode gives U+FFFD.
    const std::string text = "ab\xFF" "cd";
    const std::vector<mm::TokenSpan> spans = m_tokenizer->encodeWithSpans(text);
    uint32_t cursor = 0;
    for (const mm::TokenSpan& span : spans) {
        QCOMPARE(span.begin, cursor);
        QVERIFY(span.end >= span.begin);
        cursor = span.end;
    }
    QCOMPARE(size_t(cursor), text.size());
    std::vector<int32_t> ids;
    for (const mm::TokenSpan& span : spans)
        ids.push_back(span.id);
    QCOMPARE(m_tokenizer->decode(ids), std::string("ab\xEF\xBF\xBD" "cd"));
}

void TokenizerTest::digitsAreSplit()
{
    const std::string text = "In 1848 he paid 31415926 pounds, 0.75 each; 2024!";
    for (const mm::TokenSpan& span : m_tokenizer->encodeWithSpans(text)) {
        const std::string covered = text.substr(span.begin, span.end - span.begin);
        if (covered.find_first_of("0123456789") != std::string::npos) {
            QVERIFY2(covered.size() == 1, qPrintable(QString::fromStdString("'" + covered + "'")));
            QCOMPARE(m_tokenizer->idToPiece(span.id), covered);
        }
    }
}

void TokenizerTest::controlSymbolsNeverComeFromText()
{
    const std::string text = "<doc><q><a><note><reserved0><reserved3><s></s><pad><unk> <doc> x";
    for (const int32_t id : m_tokenizer->encode(text))
        QVERIFY2(id > 11, qPrintable(QString("special id %1 produced from text").arg(id)));
    // Control symbols decode to nothing: they mark structure, not text.
    QCOMPARE(m_tokenizer->decode({m_tokenizer->docSeparatorId(), m_tokenizer->questionId(),
                                  m_tokenizer->answerId()}),
             std::string());
}

void TokenizerTest::decodeRejectsOutOfRangeIds()
{
    QVERIFY_THROWS_EXCEPTION(mm::TokenizerError, m_tokenizer->decode({100, 8192}));
    QVERIFY_THROWS_EXCEPTION(mm::TokenizerError, m_tokenizer->decode({-1}));
    QVERIFY_THROWS_EXCEPTION(mm::TokenizerError, m_tokenizer->idToPiece(8192));
    QVERIFY_THROWS_EXCEPTION(mm::TokenizerError, m_tokenizer->idToPiece(-5));
}

void TokenizerTest::fingerprintIsVocabAndModelHash()
{
    const std::string& fingerprint = m_tokenizer->fingerprint();
    QCOMPARE(fingerprint,
             "spm-unigram-8192:" + mm::sha256FileHex(m_tokenizer->modelPath()));
    QCOMPARE(fingerprint.size(), std::string("spm-unigram-8192:").size() + 64);
    QCOMPARE(m_tokenizer->modelPath(), mm::defaultTokenizerModelPath());
}

void TokenizerTest::missingModel()
{
    const std::string error = errorOfLoad("/nonexistent/dir/memmamba.model");
    QVERIFY2(error.find("tokenizer model not found: /nonexistent/dir/memmamba.model") !=
                 std::string::npos,
             error.c_str());
}

void TokenizerTest::corruptModel()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("garbage.model").toStdString();
    writeFile(path, std::string(4096, '\x5a') + "not a protobuf");
    const std::string error = errorOfLoad(path);
    QVERIFY2(error.find("tokenizer model is corrupt or not a sentencepiece model: " + path) !=
                 std::string::npos,
             error.c_str());
}

void TokenizerTest::truncatedModel()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("truncated.model").toStdString();
    const std::string model = readFile(mm::defaultTokenizerModelPath());
    writeFile(path, model.substr(0, model.size() / 2));
    const std::string error = errorOfLoad(path);
    QVERIFY2(error.find("corrupt") != std::string::npos && error.find(path) != std::string::npos,
             error.c_str());
}

void TokenizerTest::missingModule()
{
    const std::string error =
        errorOfLoad(mm::defaultTokenizerModelPath(), "/nonexistent/lib/libmemmamba_spm.so");
    QVERIFY2(error.find("tokenizer module not found: /nonexistent/lib/libmemmamba_spm.so") !=
                 std::string::npos,
             error.c_str());
}

void TokenizerTest::moduleWithoutApi()
{
    const std::string module = MEMMAMBA_TEST_NOT_SPM_MODULE;
    const std::string error = errorOfLoad(mm::defaultTokenizerModelPath(), module);
    QVERIFY2(error.find("tokenizer module " + module + " lacks the function mm_spm_") !=
                 std::string::npos,
             error.c_str());
}

void TokenizerTest::moduleOfAnotherAbiVersion()
{
    const std::string module = MEMMAMBA_TEST_WRONG_ABI_MODULE;
    const std::string error = errorOfLoad(mm::defaultTokenizerModelPath(), module);
    QVERIFY2(error.find("tokenizer module " + module + " has ABI version 999, this program needs") !=
                 std::string::npos,
             error.c_str());
}

void TokenizerTest::notASharedObject()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("libfake.so").toStdString();
    writeFile(path, "this is text, not an ELF file\n");
    const std::string error = errorOfLoad(mm::defaultTokenizerModelPath(), path);
    QVERIFY2(error.find("cannot load tokenizer module " + path) != std::string::npos,
             error.c_str());
}

void TokenizerTest::pathLookupHonoursEnvironment()
{
    // Tests run from build/bin, so without an override the module is ../lib beside it.
    const QByteArray savedModule = qgetenv("MEMMAMBA_SPM_MODULE");
    qunsetenv("MEMMAMBA_SPM_MODULE");
    const std::string found = mm::spmModulePath();
    QVERIFY2(QFile::exists(QString::fromStdString(found)), found.c_str());
    QVERIFY(QString::fromStdString(found).endsWith("/libmemmamba_spm.so"));
    qputenv("MEMMAMBA_SPM_MODULE", "/somewhere/else/libmemmamba_spm.so");
    QCOMPARE(mm::spmModulePath(), std::string("/somewhere/else/libmemmamba_spm.so"));
    if (savedModule.isEmpty())
        qunsetenv("MEMMAMBA_SPM_MODULE");
    else
        qputenv("MEMMAMBA_SPM_MODULE", savedModule);

    const QByteArray savedResources = qgetenv("MEMMAMBA_RESOURCES");
    qputenv("MEMMAMBA_RESOURCES", "/opt/memmamba-test-resources");
    QCOMPARE(mm::resourceDir(), std::string("/opt/memmamba-test-resources"));
    QCOMPARE(mm::defaultTokenizerModelPath(),
             std::string("/opt/memmamba-test-resources/tokenizer/memmamba.model"));
    qunsetenv("MEMMAMBA_RESOURCES");
    // Without the override: the source tree's resources (no share/memmamba in a build).
    QVERIFY(QFile::exists(QString::fromStdString(mm::defaultTokenizerModelPath())));
    qputenv("MEMMAMBA_RESOURCES", savedResources);
}

void TokenizerTest::concurrentEncodeAndDecode()
{
    const std::string chapter = readFile(kChapterPath);
    const std::vector<mm::TokenSpan> expected = m_tokenizer->encodeWithSpans(chapter);
    constexpr int kThreads = 4;
    constexpr int kRounds = 10;
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < kRounds; ++round) {
                const std::vector<mm::TokenSpan> spans = m_tokenizer->encodeWithSpans(chapter);
                bool same = spans.size() == expected.size();
                for (size_t i = 0; same && i < spans.size(); ++i)
                    same = spans[i].id == expected[i].id && spans[i].begin == expected[i].begin &&
                           spans[i].end == expected[i].end;
                std::vector<int32_t> ids;
                for (const mm::TokenSpan& span : spans)
                    ids.push_back(span.id);
                if (!same || m_tokenizer->decode(ids) != chapter)
                    ++failures[size_t(t)];
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    for (int t = 0; t < kThreads; ++t)
        QCOMPARE(failures[size_t(t)], 0);
}

QTEST_GUILESS_MAIN(TokenizerTest)
#include "tst_tokenizer.moc"
