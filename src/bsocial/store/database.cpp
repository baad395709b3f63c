#include "bsocial/store/database.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <filesystem>
#include <stdexcept>

#include "bsocial/store/migrations.hpp"

namespace bsocial::store {

namespace {
constexpr const char* sqlite_prefix = "sqlite:";

void prepare_sqlite_session(soci::session& sql) {
    sql << "PRAGMA foreign_keys = ON";
    sql << "PRAGMA busy_timeout = 10000";
    sql << "PRAGMA synchronous = NORMAL";
}
}  // namespace

database::database(const std::string& url, std::size_t pool_size)
    : pool_size_(pool_size), pool_(std::make_unique<soci::connection_pool>(pool_size)) {
    if (url.rfind(sqlite_prefix, 0) == 0) {
        dialect_ = dialect::sqlite;
        const std::string path = url.substr(std::char_traits<char>::length(sqlite_prefix));
        const auto parent = std::filesystem::path(path).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent);
        for (std::size_t i = 0; i < pool_size; ++i) {
            soci::session& sql = pool_->at(i);
            sql.open(soci::sqlite3, "db=\"" + path + "\" timeout=10");
            if (i == 0) sql << "PRAGMA journal_mode = WAL";
            prepare_sqlite_session(sql);
        }
    } else {
        dialect_ = dialect::postgresql;
        for (std::size_t i = 0; i < pool_size; ++i) pool_->at(i).open(soci::postgresql, url);
    }
}

database::~database() = default;

int database::migrate() {
    soci::session sql(*pool_);
    return apply_migrations(sql, dialect_);
}

bool database::ping() noexcept {
    try {
        soci::session sql(*pool_);
        int one = 0;
        sql << "SELECT 1", soci::into(one);
        return one == 1;
    } catch (...) {
        return false;
    }
}

write_transaction::write_transaction(soci::session& sql, dialect kind) : sql_(sql) {
    sql_ << (kind == dialect::sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
}

write_transaction::~write_transaction() {
    if (done_) return;
    try {
        sql_ << "ROLLBACK";
    } catch (...) {
        // The connection may be broken; nothing more can be done here.
    }
}

void write_transaction::commit() {
    sql_ << "COMMIT";
    done_ = true;
}

bool is_unique_violation(const std::exception& e) {
    const std::string what = e.what();
    return what.find("UNIQUE constraint failed") != std::string::npos ||  // SQLite
           what.find("duplicate key value") != std::string::npos ||       // PostgreSQL
           what.find("23505") != std::string::npos;
}

}  // namespace bsocial::store
