#include "ui/import_progress_widget.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

namespace mm::ui {

ImportProgressWidget::ImportProgressWidget(QWidget* parent)
    : QWidget(parent), m_label(new QLabel(this)), m_bar(new QProgressBar(this)), m_cancel(new QPushButton(tr("Cancel"), this))
{
    setObjectName(QStringLiteral("importProgress"));
    m_bar->setRange(0, 1000);
    m_bar->setTextVisible(false);
    m_bar->setFixedWidth(160);
    m_bar->setMaximumHeight(14);
    m_cancel->setObjectName(QStringLiteral("cancelImport"));
    m_cancel->setToolTip(tr("Stop the import; the file being imported is not stored"));
    m_label->setTextFormat(Qt::PlainText);
    m_label->setMaximumWidth(380);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_label);
    layout->addWidget(m_bar);
    layout->addWidget(m_cancel);

    connect(m_cancel, &QPushButton::clicked, this, [this] {
        m_cancel->setEnabled(false);
        m_label->setText(tr("Cancelling…"));
        emit cancelRequested();
    });
    hide();
}

void ImportProgressWidget::start(int fileCount)
{
    m_bar->setValue(0);
    m_cancel->setEnabled(true);
    m_label->setText(tr("Importing %n file(s)…", nullptr, fileCount));
    show();
}

void ImportProgressWidget::setProgress(double fraction, const QString& message)
{
    m_bar->setValue(int(qBound(0.0, fraction, 1.0) * m_bar->maximum()));
    if (m_cancel->isEnabled())
        m_label->setText(fontMetrics().elidedText(message, Qt::ElideMiddle, m_label->maximumWidth()));
}

void ImportProgressWidget::finish()
{
    hide();
}

}  // namespace mm::ui
