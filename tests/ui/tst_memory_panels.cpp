// The memory panels on synthetic data and the scripted FakeMemoryService: the notes
// model's contents and the marks it puts in the reading view, the ask panel's streaming,
// evidence and history, the reading queue's states and estimates.
#include "fake_memory_service.h"
#include "synthetic_memory.h"
#include "ui/ask_panel.h"
#include "ui/ingest_queue_model.h"
#include "ui/ingest_queue_panel.h"
#include "ui/notes_panel.h"
#include "ui/pool_model.h"
#include "ui/reading_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>
#include <QTreeView>

using namespace mm::ui;
using mm::test::FakeMemoryService;

class TestMemoryPanels : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void poolModelContents();
    void notesPanelMarksTheText();
    void readingViewKeepsMarks();
    void askStreamsWithEvidence();
    void askStopAndScope();
    void ingestQueueStates();

private:
    mm::test::SyntheticBook m_book;
    PoolSnapshot m_snapshot;
};

void TestMemoryPanels::initTestCase()
{
    registerMemoryMetaTypes();
    m_book = mm::test::makeSyntheticBook(3000, 4, 3, true, 12, 64, 4);
    m_snapshot = mm::test::poolAt(m_book, m_book.data->tokenChars[2000]);
    QVERIFY(!m_snapshot.entries.isEmpty());
    QVERIFY(!m_snapshot.evicted.isEmpty());
}

void TestMemoryPanels::poolModelContents()
{
    PoolModel model;
    model.setSnapshot(m_snapshot);
    QCOMPARE(model.rowCount(), 4);
    QCOMPARE(m_snapshot.atToken, 2000);
    int total = 0;
    for (int row = 0; row < 4; ++row) {
        const QModelIndex layerIndex = model.index(row, 0);
        QCOMPARE(layerIndex.data(PoolModel::LayerRole).toInt(), row);
        QVERIFY(layerIndex.data(PoolModel::IsLayerRole).toBool());
        QCOMPARE(layerIndex.data().toString(), QStringLiteral("Layer %1").arg(row));
        const int children = model.rowCount(layerIndex);
        QCOMPARE(model.index(row, PoolModel::SlotColumn).data().toString(), QStringLiteral("%1/12").arg(children));
        total += children;
        QVERIFY(children <= 12);
        int lastSlot = -1;
        for (int c = 0; c < children; ++c) {
            const QModelIndex note = model.index(c, PoolModel::NoteColumn, layerIndex);
            QCOMPARE(model.parent(note), layerIndex);
            const qint64 token = note.data(PoolModel::TokenRole).toLongLong();
            const int slot = model.index(c, PoolModel::SlotColumn, layerIndex).data().toInt();
            QVERIFY(slot > lastSlot);  // by slot
            lastSlot = slot;
            // Age, score and text agree with the snapshot's entry.
            const auto it = std::find_if(m_snapshot.entries.cbegin(), m_snapshot.entries.cend(),
                                         [&](const PoolEntry& e) { return e.layer == row && e.slot == slot; });
            QVERIFY(it != m_snapshot.entries.cend());
            QCOMPARE(token, it->tokenPosition);
            QVERIFY(token < 2000);
            QCOMPARE(model.index(c, PoolModel::AgeColumn, layerIndex).data(PoolModel::SortRole).toLongLong(),
                     2000 - token);
            QCOMPARE(model.index(c, PoolModel::ScoreColumn, layerIndex).data().toString(),
                     QString::number(double(it->score), 'f', 3));
            const QString word = m_book.text.mid(int(it->charStart), int(it->charEnd - it->charStart));
            QVERIFY2(note.data().toString().startsWith(QStringLiteral("«%1»").arg(word)), qPrintable(note.data().toString()));
            QCOMPARE(note.data(PoolModel::CharStartRole).toLongLong(), it->charStart);
            QCOMPARE(model.index(c, PoolModel::ReadColumn, layerIndex).data().toString(), QStringLiteral("—"));
        }
    }
    QCOMPARE(total, m_snapshot.entries.size());

    model.setLayers({3, 1});
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(0, 0).data(PoolModel::LayerRole).toInt(), 1);
    QCOMPARE(model.index(1, 0).data(PoolModel::LayerRole).toInt(), 3);
    for (const EvictedNote& e : model.evictedNotes())
        QVERIFY(e.layer == 1 || e.layer == 3);
    QVERIFY(!model.evictedNotes().isEmpty());
}

void TestMemoryPanels::notesPanelMarksTheText()
{
    NotesPanel panel;
    ReadingView reader;
    reader.resize(700, 500);
    reader.show();
    QVERIFY(QTest::qWaitForWindowExposed(&reader));
    reader.showText(m_book.text, m_book.data->tokenChars[1900]);
    connect(&panel, &NotesPanel::marksChanged, &reader, &ReadingView::setMemoryMarks);
    QSignalSpy activated(&panel, &NotesPanel::noteActivated);

    panel.setLayers({0, 2});
    panel.setSnapshot(m_snapshot);
    QVERIFY(panel.headline().contains(QStringLiteral("2,000")) || panel.headline().contains(QStringLiteral("2000")));
    int expected = 0;
    for (const PoolEntry& e : m_snapshot.entries)
        expected += (e.layer == 0 || e.layer == 2) ? 1 : 0;
    QCOMPARE(reader.pooledMarks().size(), expected);
    QVERIFY(reader.evictedMarks().isEmpty());  // off by default
    QCOMPARE(reader.extraSelections().size(), expected);
    const PoolEntry sample = panel.model()->entries(2).first();
    const auto selections = reader.extraSelections();
    const bool marked = std::any_of(selections.cbegin(), selections.cend(), [&](const auto& s) {
        return s.cursor.selectionStart() == sample.charStart && s.cursor.selectionEnd() == sample.charEnd
               && s.format.underlineStyle() == QTextCharFormat::SingleUnderline;
    });
    QVERIFY2(marked, "the pooled token is underlined");

    panel.markEvictedBox()->setChecked(true);
    int evicted = 0;
    for (const EvictedNote& e : m_snapshot.evicted)
        evicted += (e.layer == 0 || e.layer == 2) ? 1 : 0;
    QCOMPARE(reader.evictedMarks().size(), std::min(evicted, int(NotesPanel::kMaxEvictedMarks)));
    const auto withEvicted = reader.extraSelections();
    const auto waves = std::count_if(withEvicted.cbegin(), withEvicted.cend(), [](const auto& s) {
        return s.format.underlineStyle() == QTextCharFormat::WaveUnderline;
    });
    QCOMPARE(int(waves), reader.evictedMarks().size());
    panel.markPooledBox()->setChecked(false);
    QVERIFY(reader.pooledMarks().isEmpty());

    // Sorting by score (descending) through the proxy; activating a note asks to jump.
    panel.view()->sortByColumn(PoolModel::ScoreColumn, Qt::DescendingOrder);
    const QModelIndex layer2 = panel.proxy()->index(1, 0);
    QCOMPARE(layer2.data(PoolModel::LayerRole).toInt(), 2);
    double last = 2;
    for (int r = 0; r < panel.proxy()->rowCount(layer2); ++r) {
        const double score = panel.proxy()->index(r, PoolModel::ScoreColumn, layer2).data(PoolModel::SortRole).toDouble();
        QVERIFY(score <= last);
        last = score;
    }
    const QModelIndex top = panel.proxy()->index(0, 0, layer2);
    emit panel.view()->activated(top);
    QCOMPARE(activated.count(), 1);
    QCOMPARE(activated.first().at(0).toLongLong(), top.data(PoolModel::CharStartRole).toLongLong());
    QCOMPARE(activated.first().at(1).toLongLong(), top.data(PoolModel::CharEndRole).toLongLong());

    // A new snapshot (the reader moved on) keeps the selected layer and slot.
    const QModelIndex third = panel.proxy()->index(2, 0, layer2);
    const int slot = third.siblingAtColumn(PoolModel::SlotColumn).data(PoolModel::SortRole).toInt();
    panel.view()->setCurrentIndex(third);
    panel.setSnapshot(mm::test::poolAt(m_book, m_book.data->tokenChars[2100]));
    const QModelIndex kept = panel.view()->currentIndex();
    QVERIFY(kept.isValid());
    QCOMPARE(kept.data(PoolModel::LayerRole).toInt(), 2);
    QCOMPARE(kept.siblingAtColumn(PoolModel::SlotColumn).data(PoolModel::SortRole).toInt(), slot);
}

void TestMemoryPanels::readingViewKeepsMarks()
{
    ReadingView reader;
    reader.resize(700, 500);
    reader.show();
    QVERIFY(QTest::qWaitForWindowExposed(&reader));
    reader.showText(m_book.text, 0);
    reader.setMemoryMarks({{10, 15}, {40, 44}}, {{20, 25}});
    QCOMPARE(reader.extraSelections().size(), 3);
    reader.highlightPassage(100, 140, {});
    QCOMPARE(reader.extraSelections().size(), 4);  // the passage on top of the marks
    QCOMPARE(reader.extraSelections().last().cursor.selectionStart(), 100);
    reader.clearHighlights();
    QCOMPARE(reader.extraSelections().size(), 3);  // marks stay
    reader.setReflow(!reader.reflow());
    QCOMPARE(reader.extraSelections().size(), 3);  // rebuilt on the new layout
    QCOMPARE(reader.extraSelections().first().cursor.selectionStart(), 20);
    reader.showText(m_book.text, 0);  // a new text: no marks
    QVERIFY(reader.extraSelections().isEmpty());
    QVERIFY(reader.pooledMarks().isEmpty());
}

void TestMemoryPanels::askStreamsWithEvidence()
{
    FakeMemoryService fake;
    AskPanel panel;
    panel.resize(400, 600);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    connect(&panel, &AskPanel::askRequested, &fake, &FakeMemoryService::ask);
    connect(&panel, &AskPanel::cancelRequested, &fake, &FakeMemoryService::cancelAsk);
    connect(&panel, &AskPanel::historyRequested, &fake, &FakeMemoryService::requestHistory);
    connect(&panel, &AskPanel::answerCompleted, &fake, &FakeMemoryService::saveAnswer);
    connect(&fake, &FakeMemoryService::answerStarted, &panel, &AskPanel::answerStarted);
    connect(&fake, &FakeMemoryService::answerToken, &panel, &AskPanel::appendAnswerToken);
    connect(&fake, &FakeMemoryService::answerFinished, &panel, &AskPanel::answerFinished);
    connect(&fake, &FakeMemoryService::historyReady, &panel, &AskPanel::setHistory);

    AnswerEvidence note;
    note.kind = AnswerEvidence::Note;
    note.charStart = 120;
    note.charEnd = 129;
    note.chapter = QStringLiteral("CHAPTER 2");
    note.snippet = QStringLiteral("telescope");
    note.weight = 0.7f;
    note.layer = 3;
    AnswerEvidence passage;
    passage.charStart = 300;
    passage.charEnd = 380;
    passage.chapter = QStringLiteral("CHAPTER 1");
    passage.page = 4;
    passage.snippet = QStringLiteral("the brass telescope had been hidden");
    passage.weight = 0.9f;
    fake.setAnswer({QStringLiteral("Beneath"), QStringLiteral(" the"), QStringLiteral(" seventh"), QStringLiteral(" stair.")},
                   {note, passage});

    QSignalSpy history(&panel, &AskPanel::historyRequested);
    panel.setDocument(7);
    QCOMPARE(history.count(), 1);
    panel.setReadingPosition(5000);

    // The answer streams: each piece shows as it arrives.
    QStringList seen;
    connect(&fake, &FakeMemoryService::answerToken, this, [&] { seen << panel.answerText(); });
    QSignalSpy asked(&panel, &AskPanel::askRequested);
    QTest::keyClicks(panel.questionEdit(), QStringLiteral("Where was the telescope?"));
    QTest::keyClick(panel.questionEdit(), Qt::Key_Return);
    QCOMPARE(asked.count(), 1);
    const auto request = asked.first().first().value<AskRequest>();
    QCOMPARE(request.scope, AskRequest::AsOfPosition);  // spoiler safe by default
    QCOMPARE(request.asOfChar, 5000);
    QCOMPARE(request.docId, 7);
    QVERIFY(panel.isAnswering());
    QCOMPARE(panel.askButton()->text(), QStringLiteral("Stop"));
    QTRY_VERIFY(!panel.isAnswering());
    QCOMPARE(seen, (QStringList{QStringLiteral("Beneath"), QStringLiteral("Beneath the"),
                                QStringLiteral("Beneath the seventh"), QStringLiteral("Beneath the seventh stair.")}));
    QCOMPARE(panel.answerText(), QStringLiteral("Beneath the seventh stair."));

    // Evidence, strongest first, with chapter and page; a click asks to jump there.
    QCOMPARE(panel.evidenceList()->count(), 2);
    QVERIFY2(panel.evidenceList()->item(0)->text().startsWith(QStringLiteral("CHAPTER 1 · p. 4 · passage")),
             qPrintable(panel.evidenceList()->item(0)->text()));
    QVERIFY(panel.evidenceList()->item(1)->text().contains(QStringLiteral("note, layer 3")));
    QSignalSpy jump(&panel, &AskPanel::evidenceActivated);
    const QRect itemRect = panel.evidenceList()->visualItemRect(panel.evidenceList()->item(1));
    QTest::mouseClick(panel.evidenceList()->viewport(), Qt::LeftButton, {}, itemRect.center());
    QCOMPARE(jump.count(), 1);
    QCOMPARE(jump.first().at(0).toLongLong(), 120);
    QCOMPARE(jump.first().at(1).toLongLong(), 129);
    QVERIFY2(panel.timingsLabel()->text().contains(QStringLiteral("first token 85 ms")), qPrintable(panel.timingsLabel()->text()));

    // History: kept in memory and handed to the service to persist; a new panel (a
    // later session) gets it back through requestHistory.
    QCOMPARE(panel.historyList()->count(), 1);
    QCOMPARE(panel.history(7).size(), 1);
    QCOMPARE(fake.saved.size(), 1);
    QCOMPARE(fake.saved.first().answer, QStringLiteral("Beneath the seventh stair."));
    QCOMPARE(fake.saved.first().evidence.size(), 2);
    AskPanel later;
    connect(&later, &AskPanel::historyRequested, &fake, &FakeMemoryService::requestHistory);
    connect(&fake, &FakeMemoryService::historyReady, &later, &AskPanel::setHistory);
    later.setDocument(7);
    QTRY_COMPARE(later.historyList()->count(), 1);
    later.historyList()->setCurrentRow(0);
    QCOMPARE(later.answerText(), QStringLiteral("Beneath the seventh stair."));
    QCOMPARE(later.evidenceList()->count(), 2);
}

void TestMemoryPanels::askStopAndScope()
{
    FakeMemoryService fake;
    AskPanel panel;
    connect(&panel, &AskPanel::askRequested, &fake, &FakeMemoryService::ask);
    connect(&panel, &AskPanel::cancelRequested, &fake, &FakeMemoryService::cancelAsk);
    connect(&fake, &FakeMemoryService::answerToken, &panel, &AskPanel::appendAnswerToken);
    connect(&fake, &FakeMemoryService::answerFinished, &panel, &AskPanel::answerFinished);
    connect(&fake, &FakeMemoryService::answerFailed, &panel, &AskPanel::answerFailed);
    QStringList many;
    for (int i = 0; i < 2000; ++i)
        many << QStringLiteral(" word");
    fake.setAnswer(many, {});
    panel.setDocument(3);
    panel.scopeBox()->setCurrentIndex(1);
    panel.questionEdit()->setText(QStringLiteral("How does it end?"));
    QSignalSpy asked(&panel, &AskPanel::askRequested);
    panel.askButton()->click();
    QCOMPARE(asked.first().first().value<AskRequest>().scope, AskRequest::WholeBook);
    QTRY_VERIFY(panel.answerText().size() > 10);
    panel.askButton()->click();  // Stop
    QVERIFY(!panel.isAnswering());
    QCOMPARE(fake.cancelledAsks.size(), 1);
    QVERIFY(panel.history(3).first().cancelled);
    QVERIFY(panel.historyList()->item(0)->text().contains(QStringLiteral("stopped")));
    const int shown = int(panel.answerText().size());
    QTest::qWait(20);
    QCOMPARE(int(panel.answerText().size()), shown);  // nothing arrives after Stop

    // A failure names the problem and keeps nothing.
    panel.askButton()->click();
    const qint64 id = panel.currentAskId();
    emit fake.answerFailed(id, QStringLiteral("state was made by model mm1:abc, this is mm1:def"));
    QVERIFY(!panel.isAnswering());
    QVERIFY(panel.findChild<QLabel*>(QStringLiteral("askStatus"))->text().contains(QStringLiteral("mm1:abc")));
    QCOMPARE(panel.history(3).size(), 1);
}

void TestMemoryPanels::ingestQueueStates()
{
    FakeMemoryService fake;
    IngestQueuePanel panel;
    panel.resize(700, 300);
    panel.show();
    connect(&fake, &FakeMemoryService::deviceReady, &panel, &IngestQueuePanel::setDevice);
    connect(&fake, &FakeMemoryService::ingestQueued, &panel, &IngestQueuePanel::updateJob);
    connect(&fake, &FakeMemoryService::ingestProgress, &panel, &IngestQueuePanel::updateJob);
    connect(&fake, &FakeMemoryService::ingestFinished, &panel, &IngestQueuePanel::updateJob);
    connect(&fake, &FakeMemoryService::ingestFailed, &panel, &IngestQueuePanel::jobFailed);
    connect(&fake, &FakeMemoryService::ingestCancelled, &panel, [&](IngestJob job) {
        job.state = IngestJob::Cancelled;
        panel.updateJob(job);
    });
    connect(&panel, &IngestQueuePanel::pauseRequested, &fake, &FakeMemoryService::pause);
    connect(&panel, &IngestQueuePanel::resumeRequested, &fake, &FakeMemoryService::resume);
    connect(&panel, &IngestQueuePanel::cancelRequested, &fake, &FakeMemoryService::cancel);
    IngestQueueModel* model = panel.model();

    // The device and what to expect, before anything starts.
    QVERIFY(panel.statusText().contains(QStringLiteral("not known")));
    fake.setDevice({QStringLiteral("CUDA GPU: NVIDIA H200"), true, 50000});
    QVERIFY2(panel.statusText().contains(QStringLiteral("CUDA GPU: NVIDIA H200")), qPrintable(panel.statusText()));
    QVERIFY2(panel.statusText().contains(QStringLiteral("about 3 s")), qPrintable(panel.statusText()));  // 150k / 50k
    fake.setDevice({QStringLiteral("CPU (2 threads)"), false, 1000});

    fake.addBook(1, mm::test::makeSyntheticBook(60000, 2, 2, false), false);
    fake.addBook(2, mm::test::makeSyntheticBook(30000, 2, 2, false), false);
    fake.enqueue(1, QStringLiteral("First book"));
    fake.enqueue(2, QStringLiteral("Second book"));
    fake.enqueue(1, QStringLiteral("First book"));  // not twice
    QTRY_COMPARE(model->rowCount(), 2);
    QTest::qWait(5);
    QCOMPARE(model->rowCount(), 2);
    QCOMPARE(model->job(0).state, IngestJob::Queued);
    QCOMPARE(model->data(model->index(0, IngestQueueModel::TimeColumn)).toString(), QStringLiteral("starts in under a second"));
    QCOMPARE(model->data(model->index(1, IngestQueueModel::TimeColumn)).toString(), QStringLiteral("starts in about 1 min"));
    QVERIFY2(panel.statusText().contains(QStringLiteral("“First book” starts now and takes about 1 min")),
             qPrintable(panel.statusText()));

    // Running: progress, speed and time left from the measured speed.
    fake.step(15000, 3000);
    QTRY_COMPARE(model->job(0).state, IngestJob::Running);
    QCOMPARE(model->data(model->index(0, IngestQueueModel::ProgressColumn)).toString(), QStringLiteral("25%"));
    QCOMPARE(model->data(model->index(0, IngestQueueModel::SpeedColumn)).toString(), QStringLiteral("3,000 tok/s"));
    QCOMPARE(model->data(model->index(0, IngestQueueModel::TimeColumn)).toString(), QStringLiteral("about 15 s left"));
    QCOMPARE(model->data(model->index(1, IngestQueueModel::TimeColumn)).toString(), QStringLiteral("starts in about 15 s"));
    QVERIFY(panel.statusText().contains(QStringLiteral("Reading “First book”: about 15 s left")));

    // Pause and resume the selected job with the button.
    panel.selectJob(model->job(0).jobId);
    QCOMPARE(panel.pauseButton()->text(), QStringLiteral("Pause"));
    panel.pauseButton()->click();
    QTRY_COMPARE(model->job(0).state, IngestJob::Paused);
    QCOMPARE(panel.pauseButton()->text(), QStringLiteral("Resume"));
    fake.step(1000);  // a paused queue does not move
    QTest::qWait(5);
    QCOMPARE(model->job(0).tokensDone, 15000);
    panel.pauseButton()->click();
    QTRY_COMPARE(model->job(0).state, IngestJob::Running);

    // Finished: the document has a memory now.
    QSignalSpy read(&panel, &IngestQueuePanel::documentRead);
    fake.step(45000);
    QTRY_COMPARE(model->job(0).state, IngestJob::Finished);
    QCOMPARE(read.count(), 1);
    QCOMPARE(read.first().first().toLongLong(), 1);
    QCOMPARE(model->data(model->index(0, IngestQueueModel::ProgressColumn)).toString(), QStringLiteral("100%"));
    QVERIFY(!panel.pauseButton()->isEnabled());  // the finished job is selected

    // The second one: fails, then a third is cancelled.
    fake.step(1000);
    QTRY_COMPARE(model->job(1).state, IngestJob::Running);
    fake.failRunning(QStringLiteral("state was made by model mm1:abc, this is mm1:def"));
    QTRY_COMPARE(model->job(1).state, IngestJob::Failed);
    QVERIFY(model->data(model->index(1, IngestQueueModel::StateColumn)).toString().contains(QStringLiteral("mm1:abc")));
    fake.addBook(3, mm::test::makeSyntheticBook(5000, 2, 2, false), false);
    fake.enqueue(3, QStringLiteral("Third"));
    QTRY_COMPARE(model->rowCount(), 3);
    panel.selectJob(model->job(2).jobId);
    QVERIFY(panel.cancelButton()->isEnabled());
    panel.cancelButton()->click();
    QTRY_COMPARE(model->job(2).state, IngestJob::Cancelled);
    QCOMPARE(model->pendingCount(), 0);
    panel.findChild<QPushButton*>(QStringLiteral("ingestClear"))->click();
    QCOMPARE(model->rowCount(), 0);

    QCOMPARE(IngestQueueModel::durationText(5400), QStringLiteral("about 1 h 30 min"));
    QCOMPARE(IngestQueueModel::durationText(-1), QStringLiteral("unknown"));
}

QTEST_MAIN(TestMemoryPanels)
#include "tst_memory_panels.moc"
