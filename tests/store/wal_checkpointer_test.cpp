#include "bsocial/store/wal_checkpointer.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "bsocial/core/random.hpp"
#include "bsocial/store/database.hpp"

namespace {
using namespace bsocial;
using namespace bsocial::store;

constexpr int pages_per_write = 50;  // 50 rows of 4,000 bytes: one page each
constexpr int writes = 25;

struct wal_state {
    std::int64_t frames = 0;      // pages in the WAL
    std::int64_t backfilled = 0;  // of those, copied into the database file
};

class WalCheckpointer : public ::testing::Test {
  protected:
    void SetUp() override {
        init_crypto();
        dir_ = std::filesystem::temp_directory_path() / ("wal-checkpointer-test-" + random_hex(6));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "test.db").string();
        db_ = std::make_unique<database>("sqlite:" + path_, 2);
        bsocial::store::lease sql_lease(db_->requests());
        soci::session& sql = *sql_lease;
        write_transaction tx(sql, *db_);
        sql << "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)";
        tx.commit();
    }
    void TearDown() override {
        db_.reset();
        std::filesystem::remove_all(dir_);
    }

    /// `writes` transactions through the pool, as the API writes.
    void write_pages() {
        bsocial::store::lease sql_lease(db_->requests());
        soci::session& sql = *sql_lease;
        for (int i = 0; i < writes; ++i) {
            write_transaction tx(sql, *db_);
            sql << "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < "
                << pages_per_write << ") INSERT INTO blobs (b) SELECT randomblob(4000) FROM n";
            tx.commit();
        }
    }

    void write_one() {
        bsocial::store::lease sql_lease(db_->requests());
        soci::session& sql = *sql_lease;
        write_transaction tx(sql, *db_);
        sql << "INSERT INTO blobs (b) VALUES (randomblob(10))";
        tx.commit();
    }

    /// The WAL as another process would see it (this checkpoint copies nothing new when
    /// the checkpointer already did; it only reports).
    wal_state wal() const {
        soci::session sql(soci::sqlite3, "db=\"" + path_ + "\"");
        int busy = 0;
        wal_state s;
        sql << "PRAGMA wal_checkpoint(PASSIVE)", soci::into(busy), soci::into(s.frames),
            soci::into(s.backfilled);
        return s;
    }

    /// Waits (10 s at most) for `done`: the checkpointer works on its own thread.
    static bool eventually(const std::function<bool()>& done) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done()) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

    std::filesystem::path dir_;
    std::string path_;
    std::unique_ptr<database> db_;
};

TEST_F(WalCheckpointer, CommitsNoLongerCheckpoint) {
    // SQLite's default would checkpoint at 1,000 pages inside a COMMIT and start the WAL
    // again: every page written would not still be in it.
    wal_checkpointer checkpointer(*db_, path_);  // not started
    write_pages();
    EXPECT_GE(wal().frames, writes * pages_per_write);
    EXPECT_EQ(checkpointer.status().checkpoints_total, 0);
}

TEST_F(WalCheckpointer, CheckpointsInTheBackgroundAndTheWalStartsAgain) {
    wal_checkpointer checkpointer(*db_, path_,
                                  {.checkpoint_frames = 100, .period = std::chrono::milliseconds(20)});
    checkpointer.start();
    write_pages();
    ASSERT_TRUE(eventually([&] {
        const auto s = checkpointer.status();
        // caught up with the newest commit: every page of the WAL copied back
        return s.checkpoints_total > 0 && s.wal_frames == s.committed_frames &&
               s.backfilled_frames == s.wal_frames;
    })) << "checkpoints: " << checkpointer.status().checkpoints_total;
    EXPECT_GE(checkpointer.status().wal_frames, pages_per_write);
    EXPECT_EQ(checkpointer.status().catch_ups_total, 0);  // far below 64 MiB

    // Every page copied back: the next writer starts the WAL from its beginning.
    write_one();
    EXPECT_LT(wal().frames, pages_per_write);
    checkpointer.stop();
}

TEST_F(WalCheckpointer, PastItsBoundCatchesUpWithWritersHeld) {
    wal_checkpointer checkpointer(*db_, path_,
                                  {.checkpoint_frames = 1'000'000,  // the period only
                                   .period = std::chrono::milliseconds(20),
                                   .max_wal_bytes = 64 * 4096});
    // A reader that keeps its snapshot: checkpoints cannot copy the pages written after it,
    // so the checkpointer stays behind a WAL past its bound.
    soci::session reader(soci::sqlite3, "db=\"" + path_ + "\"");
    reader << "BEGIN";
    int rows = -1;
    reader << "SELECT COUNT(*) FROM blobs", soci::into(rows);
    checkpointer.start();
    write_pages();
    ASSERT_TRUE(eventually([&] { return checkpointer.status().catch_ups_total > 0; }));
    reader << "COMMIT";

    // Once the reader is gone, a checkpoint copies everything back: the whole WAL, or, when
    // the checkpointer got there before this write (it runs every 20 ms after a commit),
    // the new WAL that this write then started (SQLite starts it again only once every page
    // was copied back). Either way nothing is left behind...
    write_one();
    ASSERT_TRUE(eventually([&] {
        const auto s = checkpointer.status();
        return s.wal_frames == s.committed_frames && s.backfilled_frames == s.wal_frames &&
               (s.wal_frames >= writes * pages_per_write || s.wal_frames < pages_per_write);
    })) << "WAL frames " << checkpointer.status().wal_frames << ", copied back "
        << checkpointer.status().backfilled_frames;
    // ...and the next writer starts the WAL again.
    write_one();
    EXPECT_LT(wal().frames, pages_per_write);
    checkpointer.stop();
}

}  // namespace
