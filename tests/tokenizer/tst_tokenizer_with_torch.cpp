// LibTorch and the sentencepiece tokenizer in one process: torch runs, the tokenizer
// module is loaded (dlopen RTLD_DEEPBIND keeps its protobuf apart from LibTorch's),
// encodes and decodes, and torch runs again. Linking both directly crashes at start.
#include <torch/torch.h>

#include "engine/tokenizer/tokenizer.h"

#include <QFile>
#include <QtTest>

#include <string>

namespace {

/// A matmul and a softmax: every row of the result sums to 1.
bool torchWorks()
{
    torch::manual_seed(7);
    const torch::Tensor x = torch::randn({64, 32});
    const torch::Tensor probabilities = torch::softmax(x.matmul(x.t()), 1);
    const torch::Tensor rowSums = probabilities.sum(1);
    return probabilities.size(0) == 64 &&
           torch::allclose(rowSums, torch::ones({64}), 1e-5, 1e-5);
}

bool processHasMapped(const QByteArray& libraryName)
{
    QFile maps("/proc/self/maps");
    return maps.open(QIODevice::ReadOnly) && maps.readAll().contains(libraryName);
}

}  // namespace

class TokenizerWithTorchTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void torchThenTokenizerThenTorch();
};

void TokenizerWithTorchTest::torchThenTokenizerThenTorch()
{
    QVERIFY(torchWorks());

    const auto tokenizer = mm::Tokenizer::loadDefault();
    QVERIFY(processHasMapped("libtorch"));
    QVERIFY(processHasMapped("libsentencepiece"));

    const std::string text = "Mr Dombey sat in the corner, 1846. Ἐν ἀρχῇ 東京 📚\n  end";
    const std::vector<int32_t> ids = tokenizer->encode(text);
    QVERIFY(!ids.empty());
    QCOMPARE(tokenizer->decode(ids), text);

    // The ids feed an embedding lookup, as the engine does.
    const torch::Tensor idTensor =
        torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kLong);
    const torch::Tensor embedded =
        torch::nn::functional::embedding(idTensor, torch::randn({tokenizer->vocabSize(), 8}));
    QCOMPARE(embedded.size(0), int64_t(ids.size()));

    QVERIFY(torchWorks());
}

QTEST_GUILESS_MAIN(TokenizerWithTorchTest)
#include "tst_tokenizer_with_torch.moc"
