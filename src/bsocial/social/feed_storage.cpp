#include "bsocial/social/feed_storage.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <soci/soci.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "bsocial/social/sql.hpp"

namespace bsocial::social {

feed_storage_lock::feed_storage_lock(const std::string& sqlite_path, bool in_memory) {
    const std::string path = sqlite_path + "-feed.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
        throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, (in_memory ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK)
        throw std::runtime_error("cannot lock " + path + ": " + std::strerror(err));
    throw std::runtime_error(
        "another bsocial serve uses this SQLite database (" + sqlite_path +
        ") with its home timelines in memory, or this one would keep them in memory beside "
        "it. Timelines in memory (BSOCIAL_FEED_CACHE_USERS > 0, the default on SQLite) need "
        "the database to themselves: to run several serve processes on one SQLite file, set "
        "BSOCIAL_FEED_CACHE_USERS=0 for every one of them, or use PostgreSQL");
}

feed_storage_lock::~feed_storage_lock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

bool prepare_timeline_tables(store::database& db, bool in_memory, std::int64_t now_ms) {
    store::lease sql_lease(db);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db);
    int stale = 0;
    sql << timelines_stale_sql, soci::into(stale);
    if (in_memory) {
        if (stale == 0) sql << mark_timelines_stale_sql, soci::use(now_ms);
        tx.commit();
        return false;
    }
    if (stale == 0) return false;
    for (const char* statement : reset_timelines_sql) sql << statement;
    tx.commit();
    return true;
}

}  // namespace bsocial::social
