// The status bar's import indicator: what is being imported, a progress bar and a
// Cancel button. Hidden while no import runs.
#pragma once

#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace mm::ui {

class ImportProgressWidget : public QWidget {
    Q_OBJECT
public:
    explicit ImportProgressWidget(QWidget* parent = nullptr);

    QProgressBar* bar() const { return m_bar; }
    QPushButton* cancelButton() const { return m_cancel; }

public slots:
    void start(int fileCount);
    void setProgress(double fraction, const QString& message);
    void finish();

signals:
    void cancelRequested();

private:
    QLabel* m_label;
    QProgressBar* m_bar;
    QPushButton* m_cancel;
};

}  // namespace mm::ui
