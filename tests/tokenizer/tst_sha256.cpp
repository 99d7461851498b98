// mm::Sha256 against the FIPS 180-2 test vectors, and against Qt's SHA-256 for every
// length around the padding boundaries and for updates fed in odd-sized pieces.
#include "engine/util/sha256.h"

#include <QCryptographicHash>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <stdexcept>
#include <string>

class Sha256Test : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fipsVectors_data();
    void fipsVectors();
    void oneMillionA();
    void everyLengthMatchesQt();
    void piecewiseUpdatesMatchOneShot();
    void fileHash();
    void missingFileThrows();
};

void Sha256Test::fipsVectors_data()
{
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QString>("digest");
    QTest::newRow("empty") << QByteArray("")
                           << "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    QTest::newRow("abc") << QByteArray("abc")
                         << "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    QTest::newRow("448 bits")
        << QByteArray("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        << "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
}

void Sha256Test::fipsVectors()
{
    QFETCH(QByteArray, message);
    QFETCH(QString, digest);
    QCOMPARE(QString::fromStdString(mm::sha256Hex(message.constData(), size_t(message.size()))),
             digest);
}

void Sha256Test::oneMillionA()
{
    const std::string message(1000000, 'a');
    QCOMPARE(mm::sha256Hex(message.data(), message.size()),
             std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

void Sha256Test::everyLengthMatchesQt()
{
    // Lengths 0..300 cross the 55/56/64-byte padding cases several times.
    std::string message;
    for (int length = 0; length <= 300; ++length) {
        const QByteArray expected =
            QCryptographicHash::hash(QByteArray::fromStdString(message), QCryptographicHash::Sha256)
                .toHex();
        QCOMPARE(QByteArray::fromStdString(mm::sha256Hex(message.data(), message.size())),
                 expected);
        message.push_back(char('a' + length % 26));
    }
}

void Sha256Test::piecewiseUpdatesMatchOneShot()
{
    std::string message;
    for (int i = 0; i < 5000; ++i)
        message.push_back(char(i * 7 + i / 13));
    const std::string expected = mm::sha256Hex(message.data(), message.size());
    for (size_t piece : {1u, 3u, 63u, 64u, 65u, 1000u}) {
        mm::Sha256 hash;
        for (size_t at = 0; at < message.size(); at += piece)
            hash.update(std::string_view(message).substr(at, piece));
        QCOMPARE(hash.hexDigest(), expected);
    }
}

void Sha256Test::fileHash()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("data.bin").toStdString();
    const std::string content(200000, 'x');
    std::ofstream(path, std::ios::binary) << content;
    QCOMPARE(mm::sha256FileHex(path), mm::sha256Hex(content.data(), content.size()));
}

void Sha256Test::missingFileThrows()
{
    try {
        mm::sha256FileHex("/nonexistent/memmamba/file.bin");
        QFAIL("no exception for a missing file");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find("/nonexistent/memmamba/file.bin") != std::string::npos,
                 e.what());
    }
}

QTEST_GUILESS_MAIN(Sha256Test)
#include "tst_sha256.moc"
