#include "bsocial/store/session_pool.hpp"

#include <gtest/gtest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "bsocial/core/random.hpp"
#include "bsocial/store/database.hpp"
#include "bsocial/store/reconnect_backoff.hpp"
#include "bsocial/store/sql_error.hpp"

namespace {
using namespace bsocial;
using namespace bsocial::store;
using namespace std::chrono_literals;
using tp = reconnect_backoff::clock::time_point;

TEST(ReconnectBackoff, FirstTryAtOnceThenDoublingUpToTheCap) {
    reconnect_backoff b(100ms, 1000ms);
    const tp t0{};
    EXPECT_TRUE(b.may_try(t0));
    b.failed(t0);  // waits 100 ms
    EXPECT_FALSE(b.may_try(t0 + 99ms));
    EXPECT_TRUE(b.may_try(t0 + 100ms));
    b.failed(t0 + 100ms);  // 200 ms
    EXPECT_FALSE(b.may_try(t0 + 299ms));
    EXPECT_TRUE(b.may_try(t0 + 300ms));
    tp t = t0 + 300ms;
    for (int i = 0; i < 10; ++i) {
        b.failed(t);
        t = b.next_try();
    }
    // Capped: once the database is back, a connection tries again within the cap.
    b.failed(t);
    EXPECT_EQ(b.next_try() - t, 1000ms);
    EXPECT_EQ(b.failures(), 13);
}

TEST(ReconnectBackoff, SuccessStartsOverFromTheFirstDelay) {
    reconnect_backoff b(100ms, 1000ms);
    const tp t0{};
    for (int i = 0; i < 5; ++i) b.failed(t0);
    b.succeeded();
    EXPECT_EQ(b.failures(), 0);
    EXPECT_TRUE(b.may_try(t0));
    b.failed(t0);
    EXPECT_EQ(b.next_try() - t0, 100ms);
}

TEST(SaysConnectionLost, PostgresqlConnectionStatesAndLibpqWords) {
    EXPECT_TRUE(says_connection_lost(soci::postgresql_soci_error("x", "08006")));
    EXPECT_TRUE(says_connection_lost(soci::postgresql_soci_error("x", "57P01")));
    EXPECT_TRUE(says_connection_lost(soci::soci_error(
        "server closed the connection unexpectedly\n\tThis probably means ...")));
    EXPECT_TRUE(says_connection_lost(soci::soci_error("no connection to the server")));
    // Not a lost connection: a constraint, a syntax error, a program error.
    EXPECT_FALSE(says_connection_lost(soci::postgresql_soci_error("dup", "23505")));
    EXPECT_FALSE(says_connection_lost(soci::postgresql_soci_error("syntax", "42601")));
    EXPECT_FALSE(says_connection_lost(soci::soci_error("Null value fetched and no indicator")));
    EXPECT_FALSE(says_connection_lost(std::runtime_error("server closed the connection")));
}

class SessionPool : public ::testing::Test {
  protected:
    void SetUp() override {
        init_crypto();
        dir_ = std::filesystem::temp_directory_path() / ("session-pool-test-" + random_hex(6));
        db_ = std::make_unique<database>("sqlite:" + (dir_ / "t.db").string(), 2);
    }
    void TearDown() override {
        db_.reset();
        std::filesystem::remove_all(dir_);
    }
    std::filesystem::path dir_;
    std::unique_ptr<database> db_;
};

TEST_F(SessionPool, AWorkerPoolNeverLendsARequestConnection) {
    auto worker = db_->make_pool(1, "worker");
    lease a(*db_);
    lease b(*db_);  // the request pool is now empty
    lease w(*worker);
    EXPECT_NE(&*w, &*a);
    EXPECT_NE(&*w, &*b);
    int one = 0;
    *w << "SELECT 1", soci::into(one);
    EXPECT_EQ(one, 1);
}

TEST_F(SessionPool, ALeaseWaitsForAFreeConnectionAndGetsItBack) {
    auto pool = db_->make_pool(1, "one");
    std::atomic<bool> got{false};
    soci::session* first = nullptr;
    std::thread t;
    {
        lease held(*pool);
        first = &*held;
        t = std::thread([&] {
            lease next(*pool);
            got = (&*next == first);
        });
        std::this_thread::sleep_for(50ms);
        EXPECT_FALSE(got.load());  // still waiting: the only connection is held
    }
    t.join();
    EXPECT_TRUE(got.load());
}

TEST_F(SessionPool, SqliteWorkerConnectionsShareTheWriterLock) {
    {
        lease sql(*db_);
        *sql << "CREATE TABLE t (x INTEGER)";
    }
    auto worker = db_->make_pool(1, "worker");
    std::atomic<bool> wrote{false};
    std::thread t;
    {
        lease sql(*db_);
        write_transaction tx(*sql, *db_);
        t = std::thread([&] {
            lease w(*worker);
            write_transaction wtx(*w, *db_);  // queues on the process's writer lock
            *w << "INSERT INTO t (x) VALUES (2)";
            wtx.commit();
            wrote = true;
        });
        for (int i = 0; i < 200 && db_->writers_waiting() == 0; ++i)
            std::this_thread::sleep_for(5ms);
        EXPECT_EQ(db_->writers_waiting(), 1);
        EXPECT_FALSE(wrote.load());
        *sql << "INSERT INTO t (x) VALUES (1)";
        tx.commit();
    }
    t.join();
    EXPECT_TRUE(wrote.load());
}

TEST_F(SessionPool, CachedStatementsAreKeptPerConnectionAndForgotten) {
    auto worker = db_->make_pool(1, "worker");
    const auto bind = [](soci::statement& st, std::int64_t& v) { st.exchange(soci::into(v)); };
    soci::session* conn = nullptr;
    {
        lease w(*worker);
        conn = &*w;
        const auto rows = db_->statements().run<std::int64_t>(*w, "SELECT :x", {std::int64_t{7}},
                                                               bind);
        ASSERT_EQ(rows.size(), 1u);
        EXPECT_EQ(rows[0], 7);
    }
    EXPECT_EQ(db_->statements().prepared_on(conn), 1u);
    db_->statements().forget(conn);  // what a reconnect does first
    EXPECT_EQ(db_->statements().prepared_on(conn), 0u);
}

TEST_F(SessionPool, NeverReportsALostConnectionOnSqlite) {
    EXPECT_FALSE(db_->connection_lost(soci::postgresql_soci_error("x", "08006")));
}

}  // namespace
