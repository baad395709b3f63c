#include "bsocial/store/database.hpp"

#include <fcntl.h>
#include <soci/postgresql/soci-postgresql.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <boost/url/parse.hpp>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "bsocial/store/migrations.hpp"
#include "bsocial/store/sql.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::store {

namespace {
constexpr const char* sqlite_prefix = "sqlite:";

/// libpq key=value form of a postgresql:// URL (SOCI 4.0.3 mangles URL-style strings).
std::string to_conninfo(const std::string& url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) throw std::invalid_argument("malformed database URL");
    const auto quote = [](std::string v) {
        std::string out = "'";
        for (char c : v) {
            if (c == '\\' || c == '\'') out.push_back('\\');
            out.push_back(c);
        }
        return out + "'";
    };
    std::string info;
    const auto add = [&](const char* key, std::string value) {
        if (!value.empty()) info += std::string(info.empty() ? "" : " ") + key + "=" + quote(value);
    };
    add("host", parsed->host());
    add("port", std::string(parsed->port()));
    add("user", parsed->user());
    add("password", parsed->password());
    std::string db = parsed->path();
    if (!db.empty() && db.front() == '/') db.erase(0, 1);
    add("dbname", db);
    for (const auto& p : parsed->params()) add(std::string(p.key).c_str(), std::string(p.value));
    return info;
}

/// SQLite counts every allocation under one global mutex by default; with several
/// threads querying at once that mutex is the busiest lock in the process. Must run
/// before SQLite initialises (the first connection).
void configure_sqlite_library() {
    static std::once_flag once;
    std::call_once(once, [] { sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

void prepare_sqlite_session(soci::session& sql) {
    for (const char* pragma : sqlite_session_pragmas) sql << pragma;
}

/// The SQLite file holds e-mail addresses and password hashes: a new one is created
/// readable by its owner only (SQLite gives its -wal and -shm files the same mode), and
/// the directories made for it are 0700, whatever the umask. An existing file keeps the
/// mode its operator gave it; one that others can read is logged.
void create_private_sqlite_file(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path file(path);
    if (const auto parent = file.parent_path(); !parent.empty() && !fs::exists(parent)) {
        fs::create_directories(parent);
        fs::permissions(parent, fs::perms::owner_all, fs::perm_options::replace);
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ::fchmod(fd, 0600);  // the umask may have taken bits away, never added any
        ::close(fd);
        return;
    }
    std::error_code ec;
    const auto perms = fs::status(file, ec).permissions();
    if (!ec && (perms & (fs::perms::group_read | fs::perms::others_read)) != fs::perms::none)
        spdlog::warn("module=store event=database_file_readable_by_others path={} "
                     "hint=\"chmod 600 it (and its -wal, -shm files)\"",
                     path);
}
}  // namespace

database::database(const std::string& url, std::size_t pool_size)
    : pool_size_(pool_size), statements_(std::make_unique<statement_cache>()) {
    if (url.rfind(sqlite_prefix, 0) == 0) {
        dialect_ = dialect::sqlite;
        configure_sqlite_library();
        const std::string path = url.substr(std::char_traits<char>::length(sqlite_prefix));
        if (path != ":memory:" && path.rfind("file:", 0) != 0) create_private_sqlite_file(path);
        connect_string_ = "db=\"" + path + "\" timeout=10";
        soci::session first(soci::sqlite3, connect_string_);
        first << sqlite_wal_pragma;
    } else {
        dialect_ = dialect::postgresql;
        connect_string_ = to_conninfo(url);
        // A connect to an unreachable host must not hold a request (or a worker) for long.
        if (connect_string_.find("connect_timeout=") == std::string::npos)
            connect_string_ += " connect_timeout='3'";
    }
    requests_ = std::make_unique<session_pool>(*this, pool_size, "requests");
    // At start-up the database must be there: fail now, clearly, rather than at the first
    // request (a pool connection that could not be opened is retried by its first lease).
    lease probe(*this);
}

database::~database() = default;

void database::open_connection(soci::session& sql) {
    if (dialect_ == dialect::sqlite) {
        sql.open(soci::sqlite3, connect_string_);
        prepare_sqlite_session(sql);
        if (manual_checkpoints_) sql << sqlite_no_autocheckpoint_pragma;
    } else {
        sql.open(soci::postgresql, connect_string_);
    }
}

std::unique_ptr<session_pool> database::make_pool(std::size_t size, std::string name) {
    return std::make_unique<session_pool>(*this, size, std::move(name));
}

void database::note_lost_connection() noexcept {
    ++outage_epoch_;
    last_lost_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
}

bool database::connection_lost(const std::exception& e) const noexcept {
    if (dialect_ != dialect::postgresql) return false;
    if (const auto* own = dynamic_cast<const bsocial::error*>(&e))
        return own->code() == error_code::unavailable;
    if (!is_sql_error(e)) return false;
    if (says_connection_lost(e)) return true;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    const std::int64_t lost = last_lost_ms_.load();
    return lost != 0 && now - lost < 2000;
}

bool database::transient(const std::exception& e) const noexcept {
    if (const auto* own = dynamic_cast<const bsocial::error*>(&e))
        return own->code() == error_code::unavailable;
    return connection_lost(e) || says_connection_lost(e) || says_transient(e);
}

error database_unavailable() {
    error e(error_code::unavailable, "the database is unavailable; try again shortly");
    e.retry_after_seconds = 1;
    return e;
}

int database::migrate() {
    lease sql(*this);
    return apply_migrations(*sql, dialect_);
}

bool database::ping() noexcept {
    try {
        lease sql(*this);
        int one = 0;
        *sql << ping_sql, soci::into(one);
        return one == 1;
    } catch (...) {
        return false;
    }
}

write_transaction::write_transaction(soci::session& sql, database& db) : sql_(sql) {
    if (db.kind() == dialect::sqlite) {
        ++db.writes_begun_;
        ++db.writers_waiting_;
        writer_ = std::unique_lock(db.sqlite_writer_);
        --db.writers_waiting_;
    }
    sql_ << (db.kind() == dialect::sqlite ? begin_write_sqlite_sql : begin_write_postgresql_sql);
}

write_transaction::write_transaction(soci::session& sql, dialect kind) : sql_(sql) {
    sql_ << (kind == dialect::sqlite ? begin_write_sqlite_sql : begin_write_postgresql_sql);
}

write_transaction::~write_transaction() {
    if (done_) return;
    try {
        sql_ << rollback_sql;
    } catch (...) {
        // The connection may be broken; nothing more can be done here.
    }
}

void write_transaction::commit_keeping_lock() {
    sql_ << commit_sql;
    done_ = true;
}

void write_transaction::commit() {
    commit_keeping_lock();
    if (writer_.owns_lock()) writer_.unlock();
}

bool is_unique_violation(const std::exception& e) {
    // Never what(): SOCI appends the bound values, and a value holding "23505" must not
    // turn another failure into a duplicate (issue 9, item 3).
    if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e))
        return pg->sqlstate() == "23505";
    if (const auto* sql = dynamic_cast<const soci::soci_error*>(&e))
        return sql->get_error_message().find("UNIQUE constraint failed") != std::string::npos;
    const std::string what = e.what();
    return what.find("UNIQUE constraint failed") != std::string::npos ||  // SQLite
           what.find("duplicate key value") != std::string::npos ||       // PostgreSQL
           what.find("23505") != std::string::npos;
}

std::string describe_url(const std::string& url) {
    std::string out = url;
    // user:password@host -> user:***@host
    const auto scheme = out.find("://");
    const auto at = out.find('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
        const auto colon = out.find(':', scheme + 3);
        if (colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "***");
    }
    // ?password=... or &password=... (any case) -> password=***
    const auto query = out.find('?');
    if (query == std::string::npos) return out;
    std::size_t pos = query + 1;
    while (pos < out.size()) {
        const auto end = std::min(out.find('&', pos), out.size());
        const auto eq = out.find('=', pos);
        if (eq != std::string::npos && eq < end) {
            std::string key = out.substr(pos, eq - pos);
            for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (key == "password") {
                out.replace(eq + 1, end - eq - 1, "***");
                pos = eq + 1 + 3 + 1;
                continue;
            }
        }
        pos = end + 1;
    }
    return out;
}

}  // namespace bsocial::store
