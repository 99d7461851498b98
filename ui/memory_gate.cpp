#include "ui/memory_gate.h"

#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace mm::ui {

MemoryGate::MemoryGate(QWidget* content, QWidget* parent)
    : QStackedWidget(parent), m_content(content), m_placeholder(new QWidget(this)),
      m_message(new QLabel(m_placeholder)), m_read(new QPushButton(tr("Read with model"), m_placeholder))
{
    m_message->setObjectName(QStringLiteral("memoryGateMessage"));
    m_message->setWordWrap(true);
    m_message->setAlignment(Qt::AlignCenter);
    m_message->setTextFormat(Qt::PlainText);
    m_read->setObjectName(QStringLiteral("memoryGateRead"));
    auto* layout = new QVBoxLayout(m_placeholder);
    layout->addStretch(1);
    layout->addWidget(m_message);
    layout->addWidget(m_read, 0, Qt::AlignHCenter);
    layout->addStretch(1);
    addWidget(m_placeholder);
    addWidget(m_content);
    connect(m_read, &QPushButton::clicked, this, &MemoryGate::readRequested);
    showMessage(tr("Open a book to see the model's memory of it."), false);
}

QString MemoryGate::message() const
{
    return isOpen() ? QString() : m_message->text();
}

void MemoryGate::showContent()
{
    setCurrentWidget(m_content);
}

void MemoryGate::showMessage(const QString& message, bool offerRead)
{
    m_message->setText(message);
    m_read->setVisible(offerRead);
    setCurrentWidget(m_placeholder);
}

}  // namespace mm::ui
