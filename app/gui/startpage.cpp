#include "startpage.h"

#include "guiformat.h"
#include "worker.h"

#include <QEvent>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QStackedWidget>
#include <QStyle>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace mizan::gui {

namespace {

// What one listing of the cache found.
struct CacheListing {
    std::vector<std::string> roots;
    std::vector<loader::CachedModel> models;
    QString error; // the listing failed (what it found before is kept)
};

// The row's index into localModels(), and its snapshot folder.
constexpr int kModelIndexRole = Qt::UserRole;
constexpr int kPathRole = Qt::UserRole + 1;

QString joined(const std::vector<std::string> &parts)
{
    QStringList out;
    for (const auto &p : parts)
        out << ltr(QString::fromStdString(p));
    return out.join(QStringLiteral(" · "));
}

} // namespace

QString StartPage::problemText(const loader::CachedModel &model)
{
    // The first file the problem concerns, and how many more.
    auto files = [&model] {
        if (model.problemFiles.empty())
            return QString();
        const QString first = ltr(QString::fromStdString(model.problemFiles.front()));
        if (model.problemFiles.size() == 1)
            return first;
        return tr("%1 and %2 more").arg(first, QLocale().toString(static_cast<qlonglong>(model.problemFiles.size() - 1)));
    };
    switch (model.problemKind) {
    case loader::SnapshotProblem::None: break;
    case loader::SnapshotProblem::MissingBlobs: return tr("Links to missing blobs: %1").arg(files());
    case loader::SnapshotProblem::UnreadableIndex: return tr("Unreadable index: %1").arg(files());
    case loader::SnapshotProblem::MissingShards: return tr("Missing shards: %1").arg(files());
    case loader::SnapshotProblem::NoConfig: return tr("No config.json");
    case loader::SnapshotProblem::NoWeights: return tr("No weights (config.json only)");
    case loader::SnapshotProblem::Downloading: return tr("Download in progress");
    }
    return model.complete ? QString() : ltr(QString::fromStdString(model.problem));
}

StartPage::StartPage(QWidget *parent)
    : QWidget(parent)
    , m_title(new QLabel(this))
    , m_subtitle(new QLabel(this))
    , m_openFolder(new QPushButton(this))
    , m_openFile(new QPushButton(this))
    , m_recentLabel(new QLabel(this))
    , m_recent(new QListWidget(this))
    , m_presetLabel(new QLabel(this))
    , m_presets(new QListWidget(this))
    , m_dropHint(new QLabel(this))
    , m_localLabel(new QLabel(this))
    , m_localRootsLabel(new QLabel(this))
    , m_refreshLocal(new QPushButton(this))
    , m_openLocal(new QPushButton(this))
    , m_localStack(new QStackedWidget(this))
    , m_local(new QTreeWidget(m_localStack))
    , m_localEmpty(new QLabel(m_localStack))
    , m_localMessage(new QLabel(this))
{
    setObjectName(QStringLiteral("startPage"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(32, 24, 32, 24);
    auto *head = new QHBoxLayout;
    auto *logo = new QLabel(this);
    logo->setPixmap(QPixmap(QStringLiteral(":/icons/mizan-64.png")));
    head->addWidget(logo);
    auto *titles = new QVBoxLayout;
    QFont big = m_title->font();
    big.setPointSizeF(big.pointSizeF() * 1.8);
    big.setBold(true);
    m_title->setFont(big);
    titles->addWidget(m_title);
    m_subtitle->setWordWrap(true);
    titles->addWidget(m_subtitle);
    head->addLayout(titles, 1);
    layout->addLayout(head);

    auto *buttons = new QHBoxLayout;
    m_openFolder->setIcon(QIcon(QStringLiteral(":/icons/open.png")));
    m_openFile->setIcon(QIcon(QStringLiteral(":/icons/open.png")));
    buttons->addWidget(m_openFolder);
    buttons->addWidget(m_openFile);
    buttons->addStretch(1);
    layout->addLayout(buttons);

    // Local models: the Hugging Face cache, one row per snapshot.
    auto *localHead = new QHBoxLayout;
    localHead->addWidget(m_localLabel);
    m_localRootsLabel->setObjectName(QStringLiteral("localModelRoots"));
    m_localRootsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_localRootsLabel->setEnabled(false); // secondary text
    localHead->addWidget(m_localRootsLabel, 1);
    m_refreshLocal->setObjectName(QStringLiteral("refreshLocalModels"));
    m_refreshLocal->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
    m_openLocal->setObjectName(QStringLiteral("openLocalModel"));
    m_openLocal->setIcon(QIcon(QStringLiteral(":/icons/open.png")));
    localHead->addWidget(m_refreshLocal);
    localHead->addWidget(m_openLocal);
    layout->addLayout(localHead);
    m_local->setObjectName(QStringLiteral("localModels"));
    m_local->setColumnCount(LocalColumnCount);
    m_local->setRootIsDecorated(false);
    m_local->setUniformRowHeights(true);
    m_local->setAllColumnsShowFocus(true);
    m_local->setSelectionMode(QAbstractItemView::SingleSelection);
    m_local->header()->setStretchLastSection(true);
    m_local->header()->setSectionsMovable(false);
    m_localEmpty->setObjectName(QStringLiteral("localModelsEmpty"));
    m_localEmpty->setAlignment(Qt::AlignCenter);
    m_localEmpty->setWordWrap(true);
    m_localEmpty->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_localEmpty->setFrameShape(QFrame::StyledPanel);
    m_localStack->addWidget(m_local);
    m_localStack->addWidget(m_localEmpty);
    m_localStack->setCurrentWidget(m_localEmpty);
    layout->addWidget(m_localStack, 1);
    m_localMessage->setObjectName(QStringLiteral("localModelMessage"));
    m_localMessage->setWordWrap(true);
    m_localMessage->hide();
    layout->addWidget(m_localMessage);

    auto *grid = new QGridLayout;
    grid->addWidget(m_recentLabel, 0, 0);
    grid->addWidget(m_recent, 1, 0);
    grid->addWidget(m_presetLabel, 0, 1);
    grid->addWidget(m_presets, 1, 1);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);
    layout->addLayout(grid, 1);
    m_dropHint->setAlignment(Qt::AlignCenter);
    m_dropHint->setEnabled(false);
    layout->addWidget(m_dropHint);

    connect(m_openFolder, &QPushButton::clicked, this, &StartPage::openFolderClicked);
    connect(m_openFile, &QPushButton::clicked, this, &StartPage::openFileClicked);
    connect(m_recent, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        Q_EMIT openRequested(item->data(Qt::UserRole).toString());
    });
    connect(m_presets, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        Q_EMIT openRequested(item->data(Qt::UserRole).toString());
    });
    // Double-click or Enter on a row, or Open.
    connect(m_local, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem *item) { activateLocalModel(item); });
    connect(m_local, &QTreeWidget::currentItemChanged, this, [this] {
        m_localMessage->hide();
        updateLocalActions();
    });
    connect(m_openLocal, &QPushButton::clicked, this, &StartPage::openSelectedLocalModel);
    connect(m_refreshLocal, &QPushButton::clicked, this, &StartPage::refreshLocalModels);
    retranslateUi();
    refreshLocalModels();
}

void StartPage::refreshLocalModels()
{
    if (m_listing) {
        m_refreshAgain = true;
        return;
    }
    m_listing = true;
    m_refreshAgain = false;
    updateLocalActions();
    if (m_localModels.empty()) {
        m_localEmpty->setText(tr("Looking for models in the Hugging Face cache…"));
        m_localStack->setCurrentWidget(m_localEmpty);
    }
    // The cache may be large or on a slow disk: stat()s and index reads happen on a pool thread.
    auto *watcher = new QFutureWatcher<CacheListing>(this);
    connect(watcher, &QFutureWatcher<CacheListing>::finished, this, [this, watcher] {
        CacheListing listing = watcher->result();
        watcher->deleteLater();
        m_cacheRoots = std::move(listing.roots);
        m_localModels = std::move(listing.models);
        m_listing = false;
        m_listedOnce = true;
        m_listingError = listing.error;
        fillLocalModels();
        if (!m_listingError.isEmpty() && !m_localModels.empty()) {
            m_localMessage->setText(tr("Cannot list the Hugging Face cache: %1").arg(m_listingError));
            m_localMessage->show();
        }
        Q_EMIT localModelsListed();
        if (m_refreshAgain)
            refreshLocalModels();
    });
    watcher->setFuture(QtConcurrent::run([] {
        CacheListing listing;
        try {
            listing.roots = loader::hfCacheRoots();
            for (const auto &root : listing.roots) {
                auto models = loader::listCachedModels(root);
                listing.models.insert(listing.models.end(), std::make_move_iterator(models.begin()), std::make_move_iterator(models.end()));
            }
        } catch (const std::exception &e) {
            listing.error = describeError(e);
        }
        return listing;
    }));
}

void StartPage::fillLocalModels()
{
    // Keep the selection across a refresh or a change of language.
    const QTreeWidgetItem *current = m_local->currentItem();
    const QString currentPath = current ? current->data(ModelColumn, kPathRole).toString() : QString();
    m_local->clear();
    m_localRootsLabel->setText(m_cacheRoots.empty() ? QString() : tr("in %1").arg(joined(m_cacheRoots)));
    m_localRootsLabel->setToolTip(m_localRootsLabel->text());
    if (!m_listedOnce) {
        updateLocalActions();
        return;
    }
    if (m_localModels.empty() && !m_listingError.isEmpty()) {
        m_localEmpty->setText(tr("Cannot list the Hugging Face cache: %1").arg(m_listingError));
        m_localStack->setCurrentWidget(m_localEmpty);
        updateLocalActions();
        return;
    }
    if (m_localModels.empty()) {
        m_localEmpty->setText(m_cacheRoots.empty()
                                  ? tr("No Hugging Face cache folder here (searched: %1).")
                                        .arg(QStringLiteral("$HF_HUB_CACHE · $HF_HOME/hub · $XDG_CACHE_HOME/huggingface/hub · ~/.cache/huggingface/hub"))
                                  : tr("No models in the Hugging Face cache (searched: %1).").arg(joined(m_cacheRoots)));
        m_localStack->setCurrentWidget(m_localEmpty);
        updateLocalActions();
        return;
    }
    QList<QTreeWidgetItem *> items;
    QTreeWidgetItem *select = nullptr;
    const QIcon warning = style()->standardIcon(QStyle::SP_MessageBoxWarning);
    const QColor dim = palette().color(QPalette::Disabled, QPalette::Text);
    for (std::size_t i = 0; i < m_localModels.size(); ++i) {
        const loader::CachedModel &m = m_localModels[i];
        auto *item = new QTreeWidgetItem;
        const QString path = QString::fromStdString(m.path);
        item->setText(ModelColumn, QString::fromStdString(m.repoId));
        item->setData(ModelColumn, kModelIndexRole, static_cast<int>(i));
        item->setData(ModelColumn, kPathRole, path);
        item->setToolTip(ModelColumn, path);
        QString revision = QString::fromStdString(m.revision.substr(0, 12));
        if (!m.refs.empty()) {
            QStringList refs;
            for (const auto &r : m.refs)
                refs << QString::fromStdString(r);
            revision = tr("%1 (%2)").arg(revision, refs.join(QStringLiteral(", ")));
        }
        item->setText(RevisionColumn, ltr(revision)); // "(main)" stays after the hash in Arabic too
        item->setToolTip(RevisionColumn, QString::fromStdString(m.revision));
        item->setText(SizeColumn, formatBytes(m.bytesOnDisk));
        item->setTextAlignment(SizeColumn, Qt::AlignTrailing | Qt::AlignVCenter);
        QStringList formats;
        for (const auto &f : m.formats) {
            if (f == "safetensors")
                formats << tr("safetensors");
            else if (f == "pytorch-bin")
                formats << tr("PyTorch .bin");
        }
        item->setText(FormatsColumn, formats.isEmpty() ? tr("none") : formats.join(tr(", ")));
        if (m.complete) {
            item->setText(StatusColumn, tr("Complete"));
            item->setToolTip(StatusColumn, tr("Double-click or press Enter to open this snapshot."));
        } else {
            const QString why = problemText(m);
            item->setText(StatusColumn, tr("Incomplete: %1").arg(why));
            item->setIcon(StatusColumn, warning);
            item->setToolTip(StatusColumn, tr("This snapshot cannot be opened: %1").arg(why));
            for (int c = 0; c < LocalColumnCount; ++c)
                item->setForeground(c, dim);
        }
        if (!currentPath.isEmpty() && path == currentPath)
            select = item;
        items << item;
    }
    m_local->addTopLevelItems(items);
    if (select)
        m_local->setCurrentItem(select);
    for (int c = 0; c < StatusColumn; ++c)
        m_local->resizeColumnToContents(c);
    m_localStack->setCurrentWidget(m_local);
    updateLocalActions();
}

void StartPage::updateLocalActions()
{
    m_refreshLocal->setEnabled(!m_listing);
    const QTreeWidgetItem *item = m_local->currentItem();
    const int index = item ? item->data(ModelColumn, kModelIndexRole).toInt() : -1;
    const bool valid = index >= 0 && index < static_cast<int>(m_localModels.size());
    const bool complete = valid && m_localModels[static_cast<std::size_t>(index)].complete;
    m_openLocal->setEnabled(complete);
    if (!valid)
        m_openLocal->setToolTip(tr("Select a complete snapshot to open it."));
    else if (complete)
        m_openLocal->setToolTip(tr("Open %1").arg(ltr(QString::fromStdString(m_localModels[static_cast<std::size_t>(index)].path))));
    else
        m_openLocal->setToolTip(tr("This snapshot cannot be opened: %1").arg(problemText(m_localModels[static_cast<std::size_t>(index)])));
}

void StartPage::activateLocalModel(QTreeWidgetItem *item)
{
    if (!item)
        return;
    const int index = item->data(ModelColumn, kModelIndexRole).toInt();
    if (index < 0 || index >= static_cast<int>(m_localModels.size()))
        return;
    const loader::CachedModel &m = m_localModels[static_cast<std::size_t>(index)];
    if (!m.complete) {
        m_localMessage->setText(tr("%1 (%2) cannot be opened: %3")
                                    .arg(ltr(QString::fromStdString(m.repoId)), ltr(QString::fromStdString(m.revision.substr(0, 12))), problemText(m)));
        m_localMessage->show();
        return;
    }
    m_localMessage->hide();
    // The snapshot folder, as if the user had opened it: the loader picks its weights.
    Q_EMIT openRequested(QString::fromStdString(m.path));
}

bool StartPage::openSelectedLocalModel()
{
    QTreeWidgetItem *item = m_local->currentItem();
    if (!item)
        return false;
    const int index = item->data(ModelColumn, kModelIndexRole).toInt();
    const bool complete = index >= 0 && index < static_cast<int>(m_localModels.size()) && m_localModels[static_cast<std::size_t>(index)].complete;
    activateLocalModel(item);
    return complete;
}

void StartPage::setRecentFiles(const QStringList &files)
{
    m_recent->clear();
    for (const QString &f : files) {
        const QFileInfo info(f);
        auto *item = new QListWidgetItem(info.exists() ? info.fileName() + QStringLiteral("  —  ") + info.absolutePath() : f, m_recent);
        item->setData(Qt::UserRole, f);
        item->setToolTip(f);
    }
}

void StartPage::setPresets(std::vector<models::PresetInfo> presets)
{
    m_presetInfo = std::move(presets);
    fillPresets();
}

void StartPage::fillPresets()
{
    m_presets->clear();
    for (const auto &p : m_presetInfo) {
        const QString name = QString::fromStdString(p.displayName.empty() ? p.name : p.displayName);
        auto *item = new QListWidgetItem(tr("%1  —  %2 parameters").arg(name, formatCount(p.parameters, true)), m_presets);
        item->setData(Qt::UserRole, QString::fromStdString(p.name));
        item->setToolTip(tr("%1 (%2), from %3").arg(QString::fromStdString(p.name), QString::fromStdString(p.architecture),
                                                     QString::fromStdString(p.source)));
    }
}

void StartPage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void StartPage::retranslateUi()
{
    m_title->setText(tr("Mizan"));
    m_subtitle->setText(tr("Plan where every layer of a model goes when it does not fit on one GPU: open a checkpoint, set the memory of each device, and get a device map for transformers and Accelerate."));
    m_openFolder->setText(tr("Open checkpoint folder…"));
    m_openFile->setText(tr("Open file…"));
    m_recentLabel->setText(tr("<b>Recent</b>"));
    m_presetLabel->setText(tr("<b>Model presets</b> (from config.json alone)"));
    m_dropHint->setText(tr("Or drop a folder, a .safetensors file, an index or a config.json here."));
    m_localLabel->setText(tr("<b>Local models</b> (Hugging Face cache)"));
    m_refreshLocal->setText(tr("Refresh"));
    m_refreshLocal->setToolTip(tr("List the Hugging Face cache again"));
    m_openLocal->setText(tr("Open"));
    m_local->setHeaderLabels({tr("Model"), tr("Revision"), tr("Size on disk"), tr("Formats"), tr("Status")});
    m_local->headerItem()->setTextAlignment(SizeColumn, Qt::AlignTrailing | Qt::AlignVCenter);
    fillPresets();
    if (m_listing && m_localModels.empty())
        m_localEmpty->setText(tr("Looking for models in the Hugging Face cache…"));
    else
        fillLocalModels();
}

} // namespace mizan::gui
