#include "ui/main_window.h"

#include "storage/import/document_reader.h"
#include "ui/about.h"
#include "ui/ask_panel.h"
#include "ui/charts_panel.h"
#include "ui/import_progress_widget.h"
#include "ui/ingest_queue_panel.h"
#include "ui/library_panel.h"
#include "ui/library_service.h"
#include "ui/memory_docks.h"
#include "ui/memory_gate.h"
#include "ui/memory_map_panel.h"
#include "ui/memory_map_widget.h"
#include "ui/memory_service.h"
#include "ui/notes_panel.h"
#include "ui/reading_position_saver.h"
#include "ui/reading_session.h"
#include "ui/reading_view.h"
#include "ui/search_panel.h"
#include "ui/toc_panel.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDirIterator>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

#include <algorithm>
#include <memory>

namespace mm::ui {

MainWindow::MainWindow(const QString& databasePath, QWidget* parent)
    : QMainWindow(parent),
      m_service(new LibraryService(databasePath, this)),
      m_reader(new ReadingView(this)),
      m_library(new LibraryPanel(this)),
      m_toc(new TocPanel(this)),
      m_search(new SearchPanel(this)),
      m_importProgress(new ImportProgressWidget(this)),
      m_positionLabel(new QLabel(this)),
      m_saver(new ReadingPositionSaver(this)),
      m_session(new ReadingSession(this))
{
    registerMemoryMetaTypes();
    m_mapPanel = new MemoryMapPanel(this);
    m_notes = new NotesPanel(this);
    m_ask = new AskPanel(this);
    m_ingest = new IngestQueuePanel(this);
    m_charts = new ChartsPanel(this);
    m_memoryDocks = new MemoryDocks(m_session, {m_reader, m_mapPanel, m_notes, m_ask, m_ingest, m_charts, m_library}, this);
    setWindowTitle(tr("MemMamba Reader"));
    setAcceptDrops(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    m_reader->setPlaceholderText(tr("Import a book with File ▸ Import files…, or drop it on this window."));
    setCentralWidget(m_reader);

    m_positionLabel->setObjectName(QStringLiteral("positionLabel"));
    m_positionLabel->setContentsMargins(8, 0, 8, 0);
    statusBar()->addPermanentWidget(m_importProgress);
    statusBar()->addPermanentWidget(m_positionLabel);

    createDocks();
    createMenus();
    connectService();

    connect(m_library, &LibraryPanel::documentActivated, this, &MainWindow::openDocument);
    connect(m_toc, &TocPanel::chapterActivated, this, [this](qint64 position) {
        m_reader->clearHighlights();
        m_reader->scrollToPosition(position, 0.0);
    });
    connect(m_search, &SearchPanel::searchRequested, m_service, [this](const QString& query) {
        m_service->search(query);
    });
    connect(m_search, &SearchPanel::hitActivated, this, &MainWindow::showSearchHit);
    connect(m_importProgress, &ImportProgressWidget::cancelRequested, m_service, &LibraryService::cancelImport);
    connect(m_reader, &ReadingView::positionChanged, m_session, &ReadingSession::setPosition);
    connect(m_reader, &QPlainTextEdit::selectionChanged, m_session,
            [this] { m_session->setSelection(m_reader->selection()); });
    connect(m_session, &ReadingSession::positionChanged, m_saver, &ReadingPositionSaver::positionChanged);
    connect(m_session, &ReadingSession::positionChanged, this, &MainWindow::updatePositionLabel);
    connect(m_saver, &ReadingPositionSaver::saveRequested, m_service, [this](qint64 docId, qint64 position) {
        m_service->saveSession(docId, position);
    });

    restoreLayout();
}

MainWindow::~MainWindow() = default;

qint64 MainWindow::currentDocumentId() const
{
    return m_session->documentId();
}

void MainWindow::createDocks()
{
    auto addDock = [this](QWidget* panel, const QString& title, const QString& name, Qt::DockWidgetArea area) {
        auto* dock = new QDockWidget(title, this);
        dock->setObjectName(name);
        dock->setWidget(panel);
        dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable
                          | QDockWidget::DockWidgetFloatable);
        addDockWidget(area, dock);
        m_docks << dock;
        return dock;
    };
    addDock(m_library, tr("Library"), QStringLiteral("libraryDock"), Qt::LeftDockWidgetArea);
    addDock(m_toc, tr("Contents"), QStringLiteral("tocDock"), Qt::LeftDockWidgetArea);
    addDock(m_search, tr("Search"), QStringLiteral("searchDock"), Qt::RightDockWidgetArea);
    resizeDocks({m_docks[0], m_docks[2]}, {340, 340}, Qt::Horizontal);
    resizeDocks({m_docks[0], m_docks[1]}, {300, 400}, Qt::Vertical);
    createMemoryDocks();
}

QDockWidget* MainWindow::dock(const QString& objectName) const
{
    for (auto* dockWidget : m_docks) {
        if (dockWidget->objectName() == objectName)
            return dockWidget;
    }
    return nullptr;
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* importFilesAction = file->addAction(tr("&Import files…"), this, &MainWindow::chooseFilesToImport);
    importFilesAction->setShortcut(QKeySequence::Open);
    QAction* importFolderAction = file->addAction(tr("Import &folder as collection…"), this,
                                                  &MainWindow::chooseFolderToImport);
    m_importActions = {importFilesAction, importFolderAction};
    file->addSeparator();
    // The book read last, at its saved position (what a start without files does).
    QAction* continueAction = file->addAction(tr("&Continue reading"), this, [this] {
        m_saver->flush();
        m_service->continueReading();
    });
    continueAction->setObjectName(QStringLiteral("continueReading"));
    continueAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (auto* dockWidget : std::as_const(m_docks))
        view->addAction(dockWidget->toggleViewAction());
    view->addSeparator();
    QAction* find = view->addAction(tr("&Find in library"), this, [this] {
        dock(QStringLiteral("searchDock"))->show();
        m_search->focusQuery();
    });
    find->setShortcut(QKeySequence::Find);
    QAction* reflow = view->addAction(tr("&Reflow paragraphs"));
    reflow->setCheckable(true);
    reflow->setChecked(QSettings().value(QStringLiteral("reader/reflow"), true).toBool());
    reflow->setToolTip(tr("Join the hard line breaks inside paragraphs of plain-text books"));
    m_reader->setReflow(reflow->isChecked());
    connect(reflow, &QAction::toggled, this, [this](bool on) {
        m_reader->setReflow(on);
        QSettings().setValue(QStringLiteral("reader/reflow"), on);
    });

    QMenu* memory = menuBar()->addMenu(tr("&Memory"));
    QAction* readAction = memory->addAction(tr("&Read this book with the model"), this,
                                            &MainWindow::readOpenDocumentWithModel);
    readAction->setObjectName(QStringLiteral("readWithModel"));
    m_memoryDocks->setReadAction(readAction);
    memory->addAction(tr("Show the &memory map"), this, [this] {
        dock(QStringLiteral("memoryMapDock"))->show();
        m_mapPanel->map()->setFocus();
    });
    memory->addAction(tr("Show the &charts"), this, [this] {
        QDockWidget* chartsDock = dock(QStringLiteral("chartsDock"));
        chartsDock->show();
        chartsDock->raise();
    });
    memory->addAction(tr("&Ask about this book"), this, [this] {
        QDockWidget* askDock = dock(QStringLiteral("askDock"));
        askDock->show();
        askDock->raise();
        m_ask->questionEdit()->setFocus();
    });

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* about = help->addAction(tr("&About MemMamba Reader"), this,
                                     [this] { QMessageBox::about(this, tr("About MemMamba Reader"), aboutText()); });
    about->setMenuRole(QAction::AboutRole);
    about->setObjectName(QStringLiteral("about"));
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt)->setMenuRole(QAction::AboutQtRole);
}

void MainWindow::connectService()
{
    connect(m_service, &LibraryService::databaseOpened, this, [this](const QString& path) {
        statusBar()->showMessage(tr("Library: %1").arg(QDir::toNativeSeparators(path)), 5000);
        m_service->refreshLibrary();
    });
    connect(m_service, &LibraryService::databaseFailed, this, [this](const QString& message) {
        for (auto* action : std::as_const(m_importActions))
            action->setEnabled(false);
        setAcceptDrops(false);
        statusBar()->showMessage(tr("The library cannot be opened: %1").arg(message));
        emit databaseUnavailable(message);
    });
    connect(m_service, &LibraryService::noLastSession, this, [this] {
        statusBar()->showMessage(tr("Nothing to continue yet: import a book or open one from the library."), 10000);
    });
    connect(m_service, &LibraryService::libraryListed, m_library, &LibraryPanel::setSnapshot);
    connect(m_service, &LibraryService::documentOpened, this, &MainWindow::onDocumentOpened);
    connect(m_service, &LibraryService::searchFinished, m_search, &SearchPanel::showResults);
    connect(m_service, &LibraryService::errorOccurred, this, [this](const QString& message) {
        statusBar()->showMessage(message, 15000);
    });
    connect(m_service, &LibraryService::importStarted, m_importProgress, &ImportProgressWidget::start);
    connect(m_service, &LibraryService::importProgress, m_importProgress, &ImportProgressWidget::setProgress);
    connect(m_service, &LibraryService::importFinished, this, &MainWindow::onImportFinished);
    connect(m_service, &LibraryService::importFailed, this, [this](const QString& message) {
        m_importProgress->finish();
        showError(tr("Import failed"), message);
    });
    connect(m_service, &LibraryService::importCancelled, this, [this](int filesImportedBefore) {
        m_importProgress->finish();
        statusBar()->showMessage(filesImportedBefore > 0
                                     ? tr("Import cancelled after %n file(s).", nullptr, filesImportedBefore)
                                     : tr("Import cancelled; nothing was added."),
                                 10000);
        m_service->refreshLibrary();
    });
}

void MainWindow::start(const QStringList& files, const QString& collection)
{
    if (files.isEmpty())
        m_service->continueReading();
    else
        importFiles(files, collection, true);
}

void MainWindow::importFiles(const QStringList& paths, const QString& collection, bool openFirst)
{
    if (paths.isEmpty())
        return;
    QStringList absolute;
    for (const QString& path : paths)
        absolute << QFileInfo(path).absoluteFilePath();
    m_service->importFiles(absolute, collection, openFirst);
}

void MainWindow::importFolder(const QString& folder)
{
    QStringList patterns;
    for (const QString& suffix : import::ReaderRegistry::instance().supportedSuffixes())
        patterns << QStringLiteral("*.") + suffix;
    QStringList files;
    QDirIterator it(folder, patterns, QDir::Files | QDir::Readable, QDirIterator::Subdirectories);
    while (it.hasNext())
        files << it.next();
    files.sort();
    const QString collection = QFileInfo(folder).fileName();
    if (files.isEmpty()) {
        showError(tr("Nothing to import"),
                  tr("'%1' holds no files of a supported format (%2).")
                      .arg(QDir::toNativeSeparators(folder), patterns.join(QLatin1Char(' '))));
        return;
    }
    importFiles(files, collection, false);
}

void MainWindow::chooseFilesToImport()
{
    QStringList patterns;
    for (const QString& suffix : import::ReaderRegistry::instance().supportedSuffixes())
        patterns << QStringLiteral("*.") + suffix;
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Import files"), QString(),
        tr("Documents (%1);;All files (*)").arg(patterns.join(QLatin1Char(' '))));
    importFiles(files);
}

void MainWindow::chooseFolderToImport()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Import folder as collection"));
    if (!folder.isEmpty())
        importFolder(folder);
}

void MainWindow::openDocument(qint64 docId)
{
    if (docId <= 0 || docId == m_requestedDocId)
        return;
    if (docId == m_session->documentId() && !m_pendingHit)
        return;
    m_requestedDocId = docId;
    statusBar()->showMessage(tr("Opening…"));
    m_service->openDocument(docId);
}

void MainWindow::showSearchHit(const storage::SearchHit& hit, const QStringList& highlightTerms)
{
    if (hit.docId == m_session->documentId() && m_reader->hasText()) {
        m_pendingHit.reset();
        m_reader->highlightPassage(hit.charStart, hit.charEnd, highlightTerms);
        emit documentShown(hit.docId);
        return;
    }
    m_pendingHit = hit;
    m_pendingHitTerms = highlightTerms;
    openDocument(hit.docId);
}

void MainWindow::searchAndShowBestHit(const QString& query)
{
    dock(QStringLiteral("searchDock"))->show();
    auto connection = std::make_shared<QMetaObject::Connection>();
    *connection = connect(m_service, &LibraryService::searchFinished, this,
                          [this, connection](const QString& finished, const QVector<storage::SearchHit>& hits) {
                              if (finished != m_search->shownQuery())
                                  return;
                              disconnect(*connection);
                              if (hits.isEmpty())
                                  return;
                              m_search->selectHit(0);
                              showSearchHit(hits.first(), SearchPanel::highlightTerms(finished, hits.first().snippet));
                          });
    m_search->search(query);
}

void MainWindow::onDocumentOpened(const OpenedDocument& document)
{
    const qint64 docId = document.record.id;
    if (m_requestedDocId != 0 && docId != m_requestedDocId)
        return;  // superseded by a later request
    m_requestedDocId = 0;
    statusBar()->clearMessage();

    m_session->setDocument(docId, document.record.title);
    setWindowTitle(tr("%1 — MemMamba Reader").arg(m_session->title()));
    m_saver->track(docId, document.savedPosition);
    m_toc->setChapters(document.chapters);
    m_library->setCurrentDocument(docId);
    m_reader->showText(document.text, document.savedPosition);
    m_memoryDocks->documentOpened(document.text);
    if (m_pendingHit && m_pendingHit->docId == docId) {
        const storage::SearchHit hit = *m_pendingHit;
        m_pendingHit.reset();
        m_reader->highlightPassage(hit.charStart, hit.charEnd, m_pendingHitTerms);
    }
    updatePositionLabel(m_reader->position());
    emit documentShown(docId);
}

void MainWindow::onImportFinished(const ImportOutcome& outcome)
{
    m_importProgress->finish();
    m_service->refreshLibrary();
    const int known = outcome.docIds.size() - outcome.newDocuments;
    QString summary = tr("Imported %n new document(s)", nullptr, outcome.newDocuments);
    if (known > 0)
        summary += tr("; %n already in the library", nullptr, known);
    statusBar()->showMessage(summary + QLatin1Char('.'), 10000);
    if (!outcome.errors.isEmpty())
        showError(tr("Some files were not imported"), outcome.errors.join(QLatin1Char('\n')));
    if (outcome.openFirst && !outcome.docIds.isEmpty())
        openDocument(outcome.docIds.first());
}

void MainWindow::showError(const QString& title, const QString& message)
{
    statusBar()->showMessage(message);
    // Window-modal but not blocking: the service keeps delivering results meanwhile.
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorMessage"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

QString MainWindow::positionText() const
{
    return m_positionLabel->text();
}

void MainWindow::updatePositionLabel(qint64 position)
{
    m_toc->setReadingPosition(position);
    if (!m_reader->hasText()) {
        m_positionLabel->clear();
        return;
    }
    QStringList parts{m_session->title()};
    const QString chapter = m_toc->chapterTitle(m_toc->chapterAt(position)).simplified();
    if (!chapter.isEmpty())
        parts << chapter;
    parts << tr("%1%").arg(qRound(m_reader->fractionRead() * 100));
    m_positionLabel->setText(parts.join(QStringLiteral("  ·  ")));
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    m_saver->flush();
    saveLayout();
    QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    const auto urls = event->mimeData()->urls();
    const bool anyLocal = std::any_of(urls.cbegin(), urls.cend(), [](const QUrl& url) { return url.isLocalFile(); });
    if (anyLocal)
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    QStringList files;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (!url.isLocalFile())
            continue;
        const QString path = url.toLocalFile();
        if (QFileInfo(path).isDir())
            importFolder(path);
        else
            files << path;
    }
    importFiles(files);
    event->acceptProposedAction();
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray())) {
        // First start: 1400x900, or less on a smaller screen (a 1280x800 laptop).
        QSize size(1400, 900);
        if (const QScreen* s = screen())
            size = size.boundedTo(s->availableGeometry().size() * 0.95);
        resize(size);
    }
    m_fitDocksOnShow = !restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
}

void MainWindow::showEvent(QShowEvent* event)
{
    QMainWindow::showEvent(event);
    if (m_fitDocksOnShow) {
        m_fitDocksOnShow = false;
        fitDocksToWindow();
    }
}

void MainWindow::fitDocksToWindow()
{
    const int w = width();
    const int h = height();
    const int left = std::clamp(w * 22 / 100, 260, 460);
    const int right = std::clamp(w * 31 / 100, 360, 640);
    resizeDocks({dock(QStringLiteral("libraryDock")), dock(QStringLiteral("searchDock"))}, {left, right}, Qt::Horizontal);
    resizeDocks({dock(QStringLiteral("memoryMapDock"))}, {std::clamp(h * 28 / 100, 200, 320)}, Qt::Vertical);
}

void MainWindow::saveLayout() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
}

}  // namespace mm::ui
