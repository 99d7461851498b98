// MemoryGate: what a memory panel shows until the open document has a memory. It holds
// the panel and, in front of it, a short explanation ("Read this book with the model
// first") with the button that queues the book. Every memory dock wraps its panel in one.
#pragma once

#include <QStackedWidget>

class QLabel;
class QPushButton;

namespace mm::ui {

class MemoryGate : public QStackedWidget {
    Q_OBJECT
public:
    explicit MemoryGate(QWidget* content, QWidget* parent = nullptr);

    QWidget* content() const { return m_content; }
    bool isOpen() const { return currentWidget() == m_content; }
    QString message() const;
    QPushButton* readButton() const { return m_read; }

public slots:
    /// Shows the panel.
    void showContent();
    /// Shows `message` instead of the panel; the "Read with model" button only when
    /// reading the document would help (`offerRead`) and a service can do it.
    void showMessage(const QString& message, bool offerRead);

signals:
    /// The user asked for the open document to be read by the model.
    void readRequested();

private:
    QWidget* m_content;
    QWidget* m_placeholder;
    QLabel* m_message;
    QPushButton* m_read;
};

}  // namespace mm::ui
