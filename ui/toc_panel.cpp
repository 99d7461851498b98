#include "ui/toc_panel.h"

#include <QListWidget>
#include <QSignalBlocker>
#include <QVBoxLayout>

#include <algorithm>

namespace mm::ui {

TocPanel::TocPanel(QWidget* parent) : QWidget(parent), m_list(new QListWidget(this))
{
    m_list->setObjectName(QStringLiteral("tocList"));
    m_list->setFrameShape(QFrame::NoFrame);
    m_list->setUniformItemSizes(true);
    m_list->setTextElideMode(Qt::ElideRight);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_list);

    // itemClicked as well as itemActivated: a single click in a contents list is a jump.
    auto jump = [this](QListWidgetItem* item) {
        const int index = m_list->row(item);
        if (index >= 0 && index < m_chapters.size())
            emit chapterActivated(m_chapters[index].charOffset);
    };
    connect(m_list, &QListWidget::itemClicked, this, jump);
    connect(m_list, &QListWidget::itemActivated, this, jump);
}

int TocPanel::chapterCount() const
{
    return m_chapters.size();
}

QString TocPanel::chapterTitle(int index) const
{
    return index >= 0 && index < m_chapters.size() ? m_chapters[index].title : QString();
}

int TocPanel::chapterAt(qint64 position) const
{
    const auto after = std::upper_bound(m_chapters.cbegin(), m_chapters.cend(), position,
                                        [](qint64 pos, const storage::ChapterRecord& chapter) {
                                            return pos < chapter.charOffset;
                                        });
    return int(after - m_chapters.cbegin()) - 1;
}

void TocPanel::setChapters(const QVector<storage::ChapterRecord>& chapters)
{
    m_chapters = chapters;
    m_list->clear();
    for (const auto& chapter : chapters) {
        // Elided in a narrow dock: the tooltip holds the whole title.
        auto* item = new QListWidgetItem(chapter.title.simplified(), m_list);
        item->setToolTip(item->text());
    }
}

void TocPanel::setReadingPosition(qint64 position)
{
    const int index = chapterAt(position);
    if (index == m_list->currentRow())
        return;
    const QSignalBlocker blocker(m_list);
    m_list->setCurrentRow(index);
    if (index >= 0)
        m_list->scrollToItem(m_list->item(index));
}

}  // namespace mm::ui
