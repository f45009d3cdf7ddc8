#include "startpage.h"

#include "guiformat.h"

#include <QEvent>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace mizan::gui {

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
    retranslateUi();
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
    fillPresets();
}

} // namespace mizan::gui
