#include "ui/ask_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <atomic>

namespace mm::ui {

namespace {
enum EvidenceRole { CharStartRole = Qt::UserRole + 1, CharEndRole };

qint64 nextAskId()
{
    static std::atomic<qint64> id{0};
    return ++id;
}

QString ms(double value)
{
    if (value < 0)
        return QStringLiteral("–");
    if (value >= 1000)
        return QObject::tr("%1 s").arg(value / 1000.0, 0, 'f', 1);
    return QObject::tr("%1 ms").arg(qRound(value));
}
}  // namespace

AskPanel::AskPanel(QWidget* parent)
    : QWidget(parent), m_question(new QLineEdit(this)), m_scope(new QComboBox(this)),
      m_ask(new QPushButton(tr("Ask"), this)), m_answer(new QTextBrowser(this)), m_status(new QLabel(this)),
      m_evidence(new QListWidget(this)), m_timings(new QLabel(this)), m_historyList(new QListWidget(this))
{
    setObjectName(QStringLiteral("askPanel"));
    m_question->setObjectName(QStringLiteral("askQuestion"));
    m_question->setPlaceholderText(tr("Ask about this book…"));
    m_question->setClearButtonEnabled(true);
    m_scope->setObjectName(QStringLiteral("askScope"));
    m_scope->addItem(tr("As of my reading position"), int(AskRequest::AsOfPosition));
    m_scope->addItem(tr("Whole book (may spoil)"), int(AskRequest::WholeBook));
    m_scope->setToolTip(tr("As of my reading position: the model answers from what it had read up to where you are, "
                           "so nothing later is given away."));
    m_ask->setObjectName(QStringLiteral("askButton"));
    m_answer->setObjectName(QStringLiteral("askAnswer"));
    m_answer->setOpenLinks(false);
    m_answer->setPlaceholderText(tr("The answer appears here as the model writes it."));
    m_status->setObjectName(QStringLiteral("askStatus"));
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_evidence->setObjectName(QStringLiteral("askEvidence"));
    m_evidence->setWordWrap(true);
    m_evidence->setToolTip(tr("The passages the answer rests on: click one to see it in the text."));
    m_timings->setObjectName(QStringLiteral("askTimings"));
    m_timings->setForegroundRole(QPalette::PlaceholderText);
    QFont small = m_timings->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    m_timings->setFont(small);
    m_status->setFont(small);
    m_historyList->setObjectName(QStringLiteral("askHistory"));

    auto* row = new QHBoxLayout;
    row->addWidget(m_question, 1);
    row->addWidget(m_ask);
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addLayout(row);
    topLayout->addWidget(m_scope);
    topLayout->addWidget(m_answer, 2);
    topLayout->addWidget(m_status);
    auto* evidenceLabel = new QLabel(tr("Evidence"), top);
    topLayout->addWidget(evidenceLabel);
    topLayout->addWidget(m_evidence, 2);
    topLayout->addWidget(m_timings);

    auto* bottom = new QWidget(this);
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(new QLabel(tr("Earlier questions"), bottom));
    bottomLayout->addWidget(m_historyList);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);

    connect(m_question, &QLineEdit::returnPressed, this, &AskPanel::ask);
    connect(m_ask, &QPushButton::clicked, this, [this] {
        if (isAnswering())
            stop();
        else
            ask();
    });
    auto activate = [this](QListWidgetItem* item) {
        if (item)
            emit evidenceActivated(item->data(CharStartRole).toLongLong(), item->data(CharEndRole).toLongLong());
    };
    connect(m_evidence, &QListWidget::itemClicked, this, activate);
    connect(m_evidence, &QListWidget::itemActivated, this, activate);
    connect(m_historyList, &QListWidget::currentRowChanged, this, [this](int historyRow) {
        const auto records = m_history.value(m_docId);
        if (!isAnswering() && historyRow >= 0 && historyRow < records.size())
            showRecord(records[historyRow]);
    });
    setDocument(0);
}

QString AskPanel::answerText() const
{
    return m_answer->toPlainText();
}

void AskPanel::setDocument(qint64 docId)
{
    if (isAnswering())
        stop();
    m_docId = docId;
    m_answer->clear();
    m_evidence->clear();
    m_timings->clear();
    m_status->clear();
    rebuildHistoryList();
    m_question->setEnabled(docId > 0);
    m_ask->setEnabled(docId > 0);
    if (docId > 0 && !m_history.contains(docId))
        emit historyRequested(docId);
}

void AskPanel::setReadingPosition(qint64 charPosition)
{
    m_readingChar = charPosition;
}

void AskPanel::ask()
{
    const QString question = m_question->text().simplified();
    if (question.isEmpty() || m_docId <= 0 || isAnswering())
        return;
    AskRequest request;
    request.askId = nextAskId();
    request.docId = m_docId;
    request.question = question;
    request.scope = AskRequest::Scope(m_scope->currentData().toInt());
    request.asOfChar = request.scope == AskRequest::AsOfPosition ? m_readingChar : -1;
    m_current = AnswerRecord();
    m_current.request = request;
    m_current.askedAt = QDateTime::currentDateTimeUtc();
    m_currentAskId = request.askId;
    m_answer->clear();
    m_evidence->clear();
    m_timings->clear();
    m_historyList->clearSelection();
    setAnswering(true);
    m_status->setText(request.scope == AskRequest::AsOfPosition ? tr("Reading back to your position…")
                                                                  : tr("Thinking over the whole book…"));
    emit askRequested(request);
}

void AskPanel::stop()
{
    if (!isAnswering())
        return;
    const qint64 askId = m_currentAskId;
    emit cancelRequested(askId);
    AnswerRecord record = m_current;
    record.answer = answerText();
    record.cancelled = true;
    finishCurrent(record);
    m_status->setText(tr("Stopped."));
}

void AskPanel::setAnswering(bool answering)
{
    m_ask->setText(answering ? tr("Stop") : tr("Ask"));
    m_question->setReadOnly(answering);
    m_scope->setEnabled(!answering);
}

void AskPanel::answerStarted(qint64 askId)
{
    if (askId == m_currentAskId)
        m_status->setText(tr("Answering…"));
}

void AskPanel::appendAnswerToken(qint64 askId, const QString& piece)
{
    if (askId != m_currentAskId || askId == 0)
        return;
    QTextCursor cursor(m_answer->document());
    cursor.movePosition(QTextCursor::End);
    cursor.insertText(piece);
    m_current.answer += piece;
}

void AskPanel::answerFinished(const AnswerRecord& finished)
{
    if (finished.request.askId != m_currentAskId || m_currentAskId == 0)
        return;
    AnswerRecord record = finished;
    record.request = m_current.request;
    record.askedAt = m_current.askedAt;
    if (record.answer.isEmpty())
        record.answer = m_current.answer;
    record.finished = true;
    finishCurrent(record);
    m_status->clear();
}

void AskPanel::answerFailed(qint64 askId, const QString& message)
{
    if (askId != m_currentAskId || askId == 0)
        return;
    // A failed answer is not kept in the history; the question stays in the box.
    m_currentAskId = 0;
    setAnswering(false);
    m_status->setText(tr("No answer: %1").arg(message));
}

void AskPanel::finishCurrent(AnswerRecord record)
{
    m_currentAskId = 0;
    setAnswering(false);
    m_history[record.request.docId] << record;
    if (record.request.docId == m_docId) {
        rebuildHistoryList();
        showRecord(record);
        QSignalBlocker block(m_historyList);
        m_historyList->setCurrentRow(m_historyList->count() - 1);
    }
    emit answerCompleted(record);
}

void AskPanel::setHistory(qint64 docId, const QVector<AnswerRecord>& records)
{
    // Answers given while the history was loading stay, after the stored ones.
    QVector<AnswerRecord> merged = records;
    for (const AnswerRecord& r : m_history.value(docId)) {
        const bool stored = std::any_of(records.cbegin(), records.cend(), [&](const AnswerRecord& s) {
            return s.request.askId == r.request.askId && s.askedAt == r.askedAt;
        });
        if (!stored)
            merged << r;
    }
    m_history[docId] = merged;
    if (docId == m_docId)
        rebuildHistoryList();
}

void AskPanel::rebuildHistoryList()
{
    QSignalBlocker block(m_historyList);
    m_historyList->clear();
    for (const AnswerRecord& r : m_history.value(m_docId)) {
        QString text = r.request.question;
        if (r.request.scope == AskRequest::WholeBook)
            text += tr("  (whole book)");
        if (r.cancelled)
            text += tr("  (stopped)");
        auto* item = new QListWidgetItem(text, m_historyList);
        item->setToolTip(r.request.question);  // a long question is elided in the list
    }
}

void AskPanel::showRecord(const AnswerRecord& record)
{
    m_answer->setPlainText(record.answer);
    m_evidence->clear();
    QVector<AnswerEvidence> evidence = record.evidence;
    std::stable_sort(evidence.begin(), evidence.end(),
                     [](const AnswerEvidence& a, const AnswerEvidence& b) { return a.weight > b.weight; });
    for (const AnswerEvidence& e : std::as_const(evidence)) {
        QStringList where;
        where << (e.chapter.isEmpty() ? tr("Opening") : e.chapter.simplified());
        if (e.page >= 0)
            where << tr("p. %1").arg(e.page);
        where << (e.kind == AnswerEvidence::Note ? tr("note, layer %1").arg(e.layer) : tr("passage"));
        auto* item = new QListWidgetItem(where.join(QStringLiteral(" · ")) + QLatin1Char('\n')
                                         + QStringLiteral("“%1”").arg(e.snippet.simplified()));
        item->setData(CharStartRole, e.charStart);
        item->setData(CharEndRole, e.charEnd);
        item->setToolTip(tr("Weight %1; click to see it in the text").arg(double(e.weight), 0, 'f', 3));
        m_evidence->addItem(item);
    }
    m_timings->setText(timingsText(record.timings));
}

QString AskPanel::timingsText(const AnswerTimings& t)
{
    if (t.totalMs < 0)
        return {};
    return tr("state %1 · first token %2 · total %3").arg(ms(t.stateLoadMs), ms(t.firstTokenMs), ms(t.totalMs));
}

}  // namespace mm::ui
