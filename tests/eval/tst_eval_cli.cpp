// `memmamba eval` end to end through the real binary: every protocol on a tiny random
// model with tiny lengths, the JSON shape, --out, --plot, --no-pool, and the one-line errors.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "engine/engine.h"

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

const QString kTiny = QStringLiteral(
    R"({"d_model": 32, "n_layer": 2, "pool_slots": 4, "note_dim": 8, "note_chunk": 16, "notes_per_chunk": 2, "attn_heads": 2, "cross_layer_period": 2})");
const QString kBook = QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources/books/shirley.txt");

Run run(const QStringList& args)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("MEMMAMBA_RESOURCES"), QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(MEMMAMBA_CLI), args);
    if (!p.waitForFinished(240000))
        qFatal("memmamba %s did not finish", qPrintable(args.join(' ')));
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

}  // namespace

class EvalCliTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir;

    QJsonObject evalJson(const QStringList& args)
    {
        QStringList all{QStringLiteral("eval")};
        all << args << QStringLiteral("--random") << QStringLiteral("--config") << kTiny << QStringLiteral("--json");
        const Run r = run(all);
        if (r.exitCode != 0)
            qWarning("stderr: %s", r.err.constData());
        [&] { QCOMPARE(r.exitCode, 0); }();
        [&] { QCOMPARE(r.out.trimmed().count('\n'), 0); }();  // one JSON object on one line
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
        [&] { QVERIFY2(doc.isObject(), qPrintable(error.errorString())); }();
        return doc.object();
    }

    static QStringList variantsOf(const QJsonArray& rows)
    {
        QStringList v;
        for (const auto& r : rows)
            if (!v.contains(r.toObject()[QStringLiteral("variant")].toString()))
                v << r.toObject()[QStringLiteral("variant")].toString();
        return v;
    }

private slots:
    void initTestCase()
    {
        // Model folders for --model and --baseline: a tiny random model with notes, and a
        // notes-off one (the baseline).
        mm::Model::createRandom(kTiny.toStdString(), 5, "cpu")->save(dir.filePath(QStringLiteral("notes")).toStdString());
        QString off = kTiny;
        off.replace(QStringLiteral("{"), QStringLiteral(R"({"notes": "off", )"));
        mm::Model::createRandom(off.toStdString(), 5, "cpu")->save(dir.filePath(QStringLiteral("off")).toStdString(), "fp32");
    }

    void modelFolderAndBaseline()
    {
        const Run r = run({QStringLiteral("eval"), QStringLiteral("fidelity"), QStringLiteral("--model"),
                           dir.filePath(QStringLiteral("notes")), QStringLiteral("--baseline"),
                           dir.filePath(QStringLiteral("off")), QStringLiteral("--distances"), QStringLiteral("0,2"),
                           QStringLiteral("--samples"), QStringLiteral("2"), QStringLiteral("--context"),
                           QStringLiteral("8"), QStringLiteral("--device"), QStringLiteral("cpu"), QStringLiteral("--json")});
        if (r.exitCode != 0)
            qWarning("stderr: %s", r.err.constData());
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j[QStringLiteral("model")].toObject()[QStringLiteral("source")].toString(),
                 dir.filePath(QStringLiteral("notes")));
        QCOMPARE(j[QStringLiteral("baseline")].toObject()[QStringLiteral("notes")].toString(), QStringLiteral("off"));
        const QJsonArray variants = j[QStringLiteral("variants")].toArray();
        QCOMPARE(variants.size(), 2);
        QCOMPARE(variants[1].toObject()[QStringLiteral("variant")].toString(), QStringLiteral("baseline"));
        QCOMPARE(variants[1].toObject()[QStringLiteral("etmf")].toArray().size(), 2);
    }

    void ppl()
    {
        const QString out = dir.filePath(QStringLiteral("ppl.json"));
        const QJsonObject j = evalJson({QStringLiteral("ppl"), QStringLiteral("--books"), kBook, QStringLiteral("--windows"),
                                        QStringLiteral("128,256"), QStringLiteral("--max-windows"), QStringLiteral("3"),
                                        QStringLiteral("--no-pool"), QStringLiteral("--out"), out});
        QCOMPARE(j[QStringLiteral("command")].toString(), QStringLiteral("eval ppl"));
        QCOMPARE(j[QStringLiteral("model")].toObject()[QStringLiteral("source")].toString(), QStringLiteral("random"));
        const QJsonArray rows = j[QStringLiteral("rows")].toArray();
        QCOMPARE(rows.size(), 4);
        QCOMPARE(variantsOf(rows), (QStringList{QStringLiteral("notes"), QStringLiteral("no_pool")}));
        for (const auto& rv : rows) {
            const QJsonObject r = rv.toObject();
            QCOMPARE(r[QStringLiteral("windows")].toInt(), 3);
            QCOMPARE(r[QStringLiteral("scored_tokens")].toInt(), 300);
            const double ppl = r[QStringLiteral("ppl")].toDouble();
            QVERIFY(ppl > 1 && ppl < 1e6);
            QVERIFY(std::abs(std::log(ppl) - r[QStringLiteral("mean_nll")].toDouble()) < 1e-9);
        }
        // --out holds the same object
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(f.readAll()).object(), j);
    }

    void passkey()
    {
        const QJsonObject j = evalJson({QStringLiteral("passkey"), QStringLiteral("--lengths"), QStringLiteral("128,200"),
                                        QStringLiteral("--depths"), QStringLiteral("0,0.5,1"), QStringLiteral("--trials"),
                                        QStringLiteral("2"), QStringLiteral("--no-pool")});
        const QJsonArray rows = j[QStringLiteral("rows")].toArray();
        QCOMPARE(rows.size(), 2 * 2 * 3);
        for (const auto& rv : rows) {
            const QJsonObject r = rv.toObject();
            QCOMPARE(r[QStringLiteral("trials")].toInt(), 2);
            const QJsonArray cases = r[QStringLiteral("cases")].toArray();
            QCOMPARE(cases.size(), 2);
            for (const auto& c : cases)
                QCOMPARE(c.toObject()[QStringLiteral("key")].toString().size(), 5);
        }
        // a different seed plants different keys; the same seed the same
        const QJsonObject again = evalJson({QStringLiteral("passkey"), QStringLiteral("--lengths"), QStringLiteral("128"),
                                            QStringLiteral("--depths"), QStringLiteral("0"), QStringLiteral("--trials"),
                                            QStringLiteral("2")});
        const QJsonObject other = evalJson({QStringLiteral("passkey"), QStringLiteral("--lengths"), QStringLiteral("128"),
                                            QStringLiteral("--depths"), QStringLiteral("0"), QStringLiteral("--trials"),
                                            QStringLiteral("2"), QStringLiteral("--seed"), QStringLiteral("7")});
        auto keys = [](const QJsonObject& o) {
            return o[QStringLiteral("rows")].toArray()[0].toObject()[QStringLiteral("cases")].toArray();
        };
        QCOMPARE(keys(again)[0].toObject()[QStringLiteral("key")], rows[0].toObject()[QStringLiteral("cases")].toArray()[0].toObject()[QStringLiteral("key")]);
        QVERIFY(keys(other) != keys(again));
    }

    void passkeyBookFiller()
    {
        const QJsonObject j = evalJson({QStringLiteral("passkey"), QStringLiteral("--lengths"), QStringLiteral("150"),
                                        QStringLiteral("--depths"), QStringLiteral("0.5"), QStringLiteral("--trials"),
                                        QStringLiteral("1"), QStringLiteral("--filler"), QStringLiteral("books"),
                                        QStringLiteral("--books"), kBook});
        QCOMPARE(j[QStringLiteral("filler")].toString(), QStringLiteral("books"));
        QCOMPARE(j[QStringLiteral("rows")].toArray().size(), 1);
    }

    void multikey()
    {
        const QJsonObject j = evalJson({QStringLiteral("multikey"), QStringLiteral("--lengths"), QStringLiteral("200"),
                                        QStringLiteral("--keys"), QStringLiteral("2,4"), QStringLiteral("--trials"),
                                        QStringLiteral("2"), QStringLiteral("--no-pool")});
        const QJsonArray rows = j[QStringLiteral("rows")].toArray();
        QCOMPARE(rows.size(), 4);
        for (const auto& rv : rows) {
            const QJsonObject r = rv.toObject();
            for (const auto& c : r[QStringLiteral("cases")].toArray())
                QCOMPARE(c.toObject()[QStringLiteral("positions")].toArray().size(), r[QStringLiteral("keys")].toInt());
        }
    }

    void fidelity()
    {
        const QJsonObject j = evalJson({QStringLiteral("fidelity"), QStringLiteral("--books"), kBook,
                                        QStringLiteral("--distances"), QStringLiteral("0,1,8"), QStringLiteral("--samples"),
                                        QStringLiteral("2"), QStringLiteral("--context"), QStringLiteral("16"),
                                        QStringLiteral("--no-pool")});
        QCOMPARE(j[QStringLiteral("distances")].toArray().size(), 3);
        const QJsonArray variants = j[QStringLiteral("variants")].toArray();
        QCOMPARE(variants.size(), 2);
        for (const auto& v : variants) {
            const QJsonArray etmf = v.toObject()[QStringLiteral("etmf")].toArray();
            QCOMPARE(etmf.size(), 2);
            QCOMPARE(etmf[0].toArray().size(), 3);
            QCOMPARE(v.toObject()[QStringLiteral("eclmf")].toArray().size(), 2);
        }
    }

    void speed()
    {
        const QJsonObject j = evalJson({QStringLiteral("speed"), QStringLiteral("--lengths"), QStringLiteral("128,512"),
                                        QStringLiteral("--no-pool")});
        const QJsonArray rows = j[QStringLiteral("rows")].toArray();
        QCOMPARE(rows.size(), 4);
        for (const auto& rv : rows) {
            const QJsonObject r = rv.toObject();
            for (const char* k : {"tokens", "seconds", "tokens_per_s", "ttft_ms", "peak_rss_mb"})
                QVERIFY2(r.contains(QLatin1String(k)), k);
        }
        // the plain-text table: bench's line format
        const Run t = run({QStringLiteral("eval"), QStringLiteral("speed"), QStringLiteral("--lengths"),
                           QStringLiteral("128"), QStringLiteral("--random"), QStringLiteral("--config"), kTiny});
        QCOMPARE(t.exitCode, 0);
        QVERIFY(t.out.startsWith("speed notes: 128 tokens in "));
        QVERIFY(t.out.contains("tokens/s on "));  // cpu or cuda:0 (device auto)
    }

    void plot()
    {
        const QString png = dir.filePath(QStringLiteral("chart.png"));
        const Run r = run({QStringLiteral("eval"), QStringLiteral("speed"), QStringLiteral("--lengths"),
                           QStringLiteral("64,128"), QStringLiteral("--random"), QStringLiteral("--config"), kTiny,
                           QStringLiteral("--plot"), png});
        if (r.exitCode == 2 && r.err.contains("not available"))
            QSKIP("this build has no Qt Charts");
        QCOMPARE(r.exitCode, 0);
        QFile f(png);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray bytes = f.readAll();
        QVERIFY(bytes.startsWith("\x89PNG"));
        QVERIFY(bytes.size() > 5000);
    }

    void plotSavedResults()
    {
        // `eval plot`: charts of --out files made elsewhere (the GPU runs of docs/results.md).
        const QString speed = dir.filePath(QStringLiteral("speed-saved.json"));
        const QString fid = dir.filePath(QStringLiteral("fidelity-saved.json"));
        evalJson({QStringLiteral("speed"), QStringLiteral("--lengths"), QStringLiteral("64,128"), QStringLiteral("--out"), speed});
        evalJson({QStringLiteral("fidelity"), QStringLiteral("--books"), kBook, QStringLiteral("--distances"),
                  QStringLiteral("1,8"), QStringLiteral("--samples"), QStringLiteral("2"), QStringLiteral("--context"),
                  QStringLiteral("16"), QStringLiteral("--out"), fid});
        const QString png = dir.filePath(QStringLiteral("saved.png"));
        Run r = run({QStringLiteral("eval"), QStringLiteral("plot"), speed + QStringLiteral("=a"),
                     speed + QStringLiteral("=b"), QStringLiteral("--plot"), png});
        if (r.exitCode == 2 && r.err.contains("not available"))
            QSKIP("this build has no Qt Charts");
        QCOMPARE(r.exitCode, 0);
        QFile f(png);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(f.readAll().startsWith("\x89PNG"));
        // one layer of a fidelity result, on the log axis
        r = run({QStringLiteral("eval"), QStringLiteral("plot"), fid, QStringLiteral("--layers"), QStringLiteral("1"),
                 QStringLiteral("--plot"), dir.filePath(QStringLiteral("fid.png"))});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("fid.png"))));
        // two protocols in one chart, a file that is not a result, no --plot: one-line errors
        r = run({QStringLiteral("eval"), QStringLiteral("plot"), speed, fid, QStringLiteral("--plot"), png});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("cannot plot 'fidelity' results with 'speed' results"));
        r = run({QStringLiteral("eval"), QStringLiteral("plot"), kBook, QStringLiteral("--plot"), png});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("not the JSON of memmamba eval --out"));
        r = run({QStringLiteral("eval"), QStringLiteral("plot"), speed});
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(r.err.trimmed().count('\n'), 0);
    }

    void errors()
    {
        Run r = run({QStringLiteral("eval"), QStringLiteral("nonsense")});
        QCOMPARE(r.exitCode, 2);
        r = run({QStringLiteral("eval"), QStringLiteral("ppl"), QStringLiteral("--random"), QStringLiteral("--windows"),
                 QStringLiteral("1k")});
        QCOMPARE(r.exitCode, 2);  // no --books
        QCOMPARE(r.err.trimmed().count('\n'), 0);
        r = run({QStringLiteral("eval"), QStringLiteral("passkey"), QStringLiteral("--lengths"), QStringLiteral("1q"),
                 QStringLiteral("--random")});
        QCOMPARE(r.exitCode, 2);
        r = run({QStringLiteral("eval"), QStringLiteral("speed"), QStringLiteral("--lengths"), QStringLiteral("64"),
                 QStringLiteral("--model"), dir.filePath(QStringLiteral("missing"))});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.trimmed().count('\n'), 0);
        QVERIFY(r.err.contains("config.json"));
        r = run({QStringLiteral("eval"), QStringLiteral("passkey"), QStringLiteral("--lengths"), QStringLiteral("10"),
                 QStringLiteral("--random"), QStringLiteral("--config"), kTiny});
        QCOMPARE(r.exitCode, 1);  // too short for the sentence
        QVERIFY(r.err.contains("cannot hold"));
        r = run({QStringLiteral("eval"), QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("passkey"));
    }
};

QTEST_GUILESS_MAIN(EvalCliTest)
#include "tst_eval_cli.moc"
