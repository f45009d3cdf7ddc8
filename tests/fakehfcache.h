#pragma once

// A Hugging Face hub cache as huggingface_hub lays it out, built by the tests in a temporary folder:
// <hub>/models--org--name/{blobs/<sha1 of the content>, snapshots/<revision>/<file> (relative links
// into blobs), refs/<branch>}. Used by tst_hfcache (mizan-cli list, ORG/NAME) and tst_startpage
// (the window's Local models).

#include "testutil.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QString>
#include <QStringList>

#include <sys/stat.h>
#include <utime.h>

namespace mizan::test {

inline QString cachedRepoFolder(const QString &hub, const QString &repo)
{
    return hub + "/models--" + QString(repo).replace('/', "--");
}

// Snapshot `revision` of `repo` holding the files of the folder `source` as blobs; `skip` names
// files left out of the snapshot, `mtime` (when not 0) its folder's modification time.
inline bool addCachedSnapshot(const QString &hub, const QString &source, const QString &repo, const QString &revision,
                              const QStringList &skip = {}, qint64 mtime = 0)
{
    const QString root = cachedRepoFolder(hub, repo);
    const QString snapshot = root + "/snapshots/" + revision;
    if (!QDir().mkpath(root + "/blobs") || !QDir().mkpath(snapshot) || !QDir().mkpath(root + "/refs"))
        return false;
    for (const QString &f : QDir(source).entryList(QDir::Files)) {
        if (skip.contains(f))
            continue;
        QFile in(source + "/" + f);
        if (!in.open(QIODevice::ReadOnly))
            return false;
        const QString hash = QCryptographicHash::hash(in.readAll(), QCryptographicHash::Sha1).toHex();
        const QString blob = root + "/blobs/" + hash;
        if (!QFile::exists(blob) && !QFile::copy(source + "/" + f, blob))
            return false;
        // Relative, as huggingface_hub links them: up from snapshots/<revision> to blobs.
        const QString up = QStringLiteral("..") + '/' + QStringLiteral("..") + '/';
        if (!QFile::link(up + "blobs/" + hash, snapshot + "/" + f))
            return false;
    }
    if (mtime) {
        struct utimbuf t {static_cast<time_t>(mtime), static_cast<time_t>(mtime)};
        ::utime(qPrintable(snapshot), &t);
    }
    return true;
}

// refs/<branch> naming `revision` (huggingface_hub writes it without a newline; tests add one too).
inline bool setCachedRef(const QString &hub, const QString &repo, const QString &branch, const QString &revision)
{
    return writeFile(cachedRepoFolder(hub, repo) + "/refs/" + branch, revision.toUtf8());
}

// A download in progress: a partial blob beside the others.
inline bool addIncompleteBlob(const QString &hub, const QString &repo)
{
    return writeFile(cachedRepoFolder(hub, repo) + "/blobs/0123456789abcdef.incomplete", "partial");
}

} // namespace mizan::test
