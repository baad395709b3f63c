#include "bsocial/store/database.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <stdexcept>

#include "bsocial/core/error.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/store/sql_error.hpp"

namespace {
namespace fs = std::filesystem;
using namespace bsocial;

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
}
}  // namespace

// Issue 24 item 6: the SQLite file (e-mails, password hashes), its WAL and the data
// directory took the umask; now private whatever the umask.
TEST(Database, NewSqliteFilesAndDirectoryArePrivateWhateverTheUmask) {
    const fs::path root = fs::temp_directory_path() / ("bsocial-modes-" + random_hex(6));
    const fs::path dir = root / "data";
    const fs::path file = dir / "bsocial.db";
    const mode_t old_umask = ::umask(0);  // the loosest: files 0666, directories 0777
    {
        store::database db("sqlite:" + file.string(), 1);
        store::lease sql(db);
        *sql << "CREATE TABLE t (x INTEGER)";
        *sql << "INSERT INTO t (x) VALUES (1)";
        EXPECT_EQ(mode_of(file), 0600u);
        EXPECT_EQ(mode_of(fs::path(file.string() + "-wal")), 0600u);
        EXPECT_EQ(mode_of(fs::path(file.string() + "-shm")), 0600u);
        EXPECT_EQ(mode_of(dir), 0700u);
    }
    ::umask(old_umask);
    fs::remove_all(root);
}

TEST(Database, DescribeUrlMasksPasswords) {
    EXPECT_EQ(store::describe_url("postgresql://ada:s3cret@db:5432/bsocial"),
              "postgresql://ada:***@db:5432/bsocial");
    EXPECT_EQ(store::describe_url("postgresql://ada@db/bsocial?password=s3cret&sslmode=require"),
              "postgresql://ada@db/bsocial?password=***&sslmode=require");
    EXPECT_EQ(store::describe_url("postgresql://db/b?sslmode=require&PassWord=x&password=y"),
              "postgresql://db/b?sslmode=require&PassWord=***&password=***");
    EXPECT_EQ(store::describe_url("postgresql://db/bsocial"), "postgresql://db/bsocial");
    EXPECT_EQ(store::describe_url("sqlite:data/bsocial.db"), "sqlite:data/bsocial.db");
}

// Issue 24, item 6: the notifier and the fan-out retry a transient failure without limit and
// park work after bounded retries of any other.
TEST(Database, TransientErrorsAreToldFromPermanentOnes) {
    const auto dir = std::filesystem::temp_directory_path() / ("transient-" + bsocial::random_hex(6));
    std::filesystem::create_directories(dir);
    {
        bsocial::store::database db("sqlite:" + (dir / "t.db").string(), 1);
        // busy, locked (also an extended code), a lost or refused connection: try again
        EXPECT_TRUE(db.transient(soci::sqlite3_soci_error("database is locked", 5)));
        EXPECT_TRUE(db.transient(soci::sqlite3_soci_error("locked", 6)));
        EXPECT_TRUE(db.transient(soci::sqlite3_soci_error("busy snapshot", 5 | (2 << 8))));
        EXPECT_TRUE(db.transient(soci::sqlite3_soci_error("database or disk is full", 13)));
        EXPECT_TRUE(db.transient(soci::sqlite3_soci_error("disk I/O error", 10)));
        EXPECT_TRUE(db.transient(soci::postgresql_soci_error("disk full", "53100")));
        EXPECT_TRUE(db.transient(bsocial::store::database_unavailable()));
        EXPECT_TRUE(db.transient(soci::postgresql_soci_error("deadlock", "40P01")));
        EXPECT_TRUE(db.transient(soci::postgresql_soci_error("serialization", "40001")));
        EXPECT_TRUE(db.transient(soci::postgresql_soci_error("gone", "57P01")));
        EXPECT_TRUE(db.transient(soci::postgresql_soci_error("no connection", "08006")));
        // a constraint, a trigger's exception, anything else: permanent for that work
        EXPECT_FALSE(db.transient(soci::sqlite3_soci_error("constraint failed", 19)));
        EXPECT_FALSE(db.transient(soci::postgresql_soci_error("raise", "P0001")));
        EXPECT_FALSE(db.transient(soci::postgresql_soci_error("unique", "23505")));
        EXPECT_FALSE(db.transient(std::runtime_error("a bug")));
        EXPECT_FALSE(db.transient(bsocial::error(bsocial::error_code::not_found, "x")));
    }
    std::filesystem::remove_all(dir);
}
