// The ask panel: a question about the open document, answered as of the reading
// position (spoiler safe, the default) or over the whole book. The answer streams in
// token by token; under it the evidence (the notes it attended to, full-text passages),
// each with its chapter, a click away in the text; the timings in small print; and the
// document's earlier questions. It emits requests and takes results; the window connects
// it to the MemoryService.
#pragma once

#include "ui/memory_types.h"

#include <QHash>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QTextBrowser;

namespace mm::ui {

class AskPanel : public QWidget {
    Q_OBJECT
public:
    explicit AskPanel(QWidget* parent = nullptr);

    QLineEdit* questionEdit() const { return m_question; }
    QComboBox* scopeBox() const { return m_scope; }
    QPushButton* askButton() const { return m_ask; }
    QListWidget* evidenceList() const { return m_evidence; }
    QListWidget* historyList() const { return m_historyList; }
    QLabel* timingsLabel() const { return m_timings; }
    /// The confidence and the supporting sentence (a link that jumps to it).
    QLabel* supportLabel() const { return m_support; }
    QString answerText() const;
    bool isAnswering() const { return m_currentAskId != 0; }
    qint64 currentAskId() const { return m_currentAskId; }
    /// The open document's questions and answers, oldest first (the one being answered
    /// included once it finishes).
    QVector<AnswerRecord> history(qint64 docId) const { return m_history.value(docId); }

public slots:
    /// A new document: its history is shown once setHistory brings it.
    void setDocument(qint64 docId);
    void setReadingPosition(qint64 charPosition);
    /// Asks the question in the box (what Return and the Ask button do).
    void ask();
    void stop();
    void setHistory(qint64 docId, const QVector<mm::ui::AnswerRecord>& records);

    void answerStarted(qint64 askId);
    void appendAnswerToken(qint64 askId, const QString& piece);
    void answerFinished(const mm::ui::AnswerRecord& record);
    void answerFailed(qint64 askId, const QString& message);

signals:
    void askRequested(const mm::ui::AskRequest& request);
    void cancelRequested(qint64 askId);
    void historyRequested(qint64 docId);
    /// A finished or stopped answer, to be kept (MemoryService::saveAnswer).
    void answerCompleted(const mm::ui::AnswerRecord& record);
    void evidenceActivated(qint64 charStart, qint64 charEnd);

private:
    void showRecord(const AnswerRecord& record);
    void setAnswering(bool answering);
    void finishCurrent(AnswerRecord record);
    void rebuildHistoryList();
    static QString timingsText(const AnswerTimings& timings);

    QLineEdit* m_question;
    QComboBox* m_scope;
    QPushButton* m_ask;
    QTextBrowser* m_answer;
    QLabel* m_status;
    QLabel* m_support;
    QListWidget* m_evidence;
    QLabel* m_timings;
    QListWidget* m_historyList;

    qint64 m_docId = 0;
    qint64 m_readingChar = 0;
    qint64 m_currentAskId = 0;
    AnswerRecord m_current;
    QHash<qint64, QVector<AnswerRecord>> m_history;
};

}  // namespace mm::ui
