// The cluster bus between two processes on a real PostgreSQL: a program of its own, run by
// tests/store/test_cluster_bus_postgresql.py (ctest `cluster_bus_postgresql`), which starts
// the server and sets BSOCIAL_TEST_PG_URL; never discovered as unit tests (no server there).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bsocial/store/cluster_bus.hpp"
#include "store/bus_inbox.hpp"

namespace {
using namespace std::chrono_literals;
using bsocial::store::cluster_bus;
using bsocial::testing::inbox;

// PostgreSQL: tests/store/test_cluster_bus_postgresql.py starts a real server and runs these
// with BSOCIAL_TEST_PG_URL set and --gtest_also_run_disabled_tests (: not run by the
// unit-test discovery, which has no server; the ctest `cluster_bus_postgresql` fails if they skip).
const char* pg_url() { return std::getenv("BSOCIAL_TEST_PG_URL"); }

// Starts both buses and pings from a on "ping" (b subscribed to it) until b listens: a
// message before that is lost, as documented. Returns how many messages b has by then
// (0: b never heard a ping).
std::size_t start_both(cluster_bus& a, cluster_bus& b, inbox& in_b) {
    a.start();
    b.start();
    for (int i = 0; i < 100; ++i) {
        a.publish("ping", "");
        if (in_b.wait_for(1, 50ms)) break;
    }
    if (!in_b.wait_for(1)) return 0;
    std::this_thread::sleep_for(200ms);  // the pings still in flight
    return in_b.snapshot().size();
}

TEST(ClusterBusPostgres, EveryProcessGetsEveryMessageThePublishersOwnIncluded) {
    if (!pg_url()) GTEST_FAIL() << "BSOCIAL_TEST_PG_URL not set";
    // Two buses with their own connections stand for two replicas.
    cluster_bus a(pg_url()), b(pg_url());
    inbox in_a, in_b;
    a.subscribe("cache.drop", in_a.handler("a"));
    b.subscribe("cache.drop", in_b.handler("b"));
    a.on_resync([&] { const std::lock_guard l(in_a.mutex); ++in_a.resyncs; });
    a.start();
    b.start();
    // Wait until both LISTEN (a message before that is lost, as documented): ping until
    // both saw one, then count from there.
    for (int i = 0; i < 100; ++i) {
        a.publish("cache.drop", "ping");
        if (in_a.wait_for(1, 50ms) && in_b.wait_for(1, 50ms)) break;
    }
    ASSERT_TRUE(in_a.wait_for(1) && in_b.wait_for(1));
    std::this_thread::sleep_for(200ms);  // the pings still in flight
    const auto base_a = in_a.snapshot().size(), base_b = in_b.snapshot().size();

    const std::string quote_and_unicode = R"({"post_id":"42","note":"it's 'quoted' \u00f8"})";
    a.publish("cache.drop", quote_and_unicode);
    b.publish("cache.drop", "from-b");
    ASSERT_TRUE(in_a.wait_for(base_a + 2));
    ASSERT_TRUE(in_b.wait_for(base_b + 2));
    auto got_a = in_a.snapshot();
    auto got_b = in_b.snapshot();
    const std::vector<std::string> tail_a(got_a.begin() + static_cast<long>(base_a), got_a.end());
    const std::vector<std::string> tail_b(got_b.begin() + static_cast<long>(base_b), got_b.end());
    EXPECT_EQ(tail_a.size(), 2u);
    EXPECT_EQ(tail_b.size(), 2u);
    EXPECT_NE(std::find(tail_a.begin(), tail_a.end(), "a:" + quote_and_unicode), tail_a.end());
    EXPECT_NE(std::find(tail_b.begin(), tail_b.end(), "b:" + quote_and_unicode), tail_b.end());
    EXPECT_NE(std::find(tail_a.begin(), tail_a.end(), "a:from-b"), tail_a.end());
    const std::lock_guard l(in_a.mutex);
    EXPECT_EQ(in_a.resyncs, 1);  // the first connect
}

TEST(ClusterBusPostgres, PublishingOrderIsKeptPerPublisher) {
    if (!pg_url()) GTEST_FAIL() << "BSOCIAL_TEST_PG_URL not set";
    cluster_bus a(pg_url()), b(pg_url());
    inbox in_b;
    b.subscribe("seq", in_b.handler("b"));
    b.subscribe("ping", in_b.handler("ping"));
    const auto base = start_both(a, b, in_b);
    ASSERT_TRUE(base > 0);
    constexpr int n = 500;
    for (int i = 0; i < n; ++i) a.publish("seq", std::to_string(i));
    ASSERT_TRUE(in_b.wait_for(base + n, 10s));
    const auto got = in_b.snapshot();
    for (int i = 0; i < n; ++i) EXPECT_EQ(got[base + static_cast<std::size_t>(i)], "b:" + std::to_string(i));
}

TEST(ClusterBusPostgres, MessagesSentTogetherArriveWholeAndInOrder) {
    // Messages waiting together go out in one statement (a text[] literal built by the bus):
    // quotes, backslashes, braces, commas, newlines and empty payloads must come out as
    // they went in, in publishing order.
    if (!pg_url()) GTEST_FAIL() << "BSOCIAL_TEST_PG_URL not set";
    cluster_bus a(pg_url()), b(pg_url());
    inbox in_b;
    b.subscribe("odd", in_b.handler("b"));
    b.subscribe("ping", in_b.handler("ping"));
    const auto base = start_both(a, b, in_b);
    ASSERT_TRUE(base > 0);
    const std::vector<std::string> shapes = {
        R"({"a":"x\"y","b":"c:\\d"})", "", "{,}", "\\", "\"", "NULL", "two\nlines", "a,b\"c\\"};
    std::vector<std::string> sent;
    for (int i = 0; i < 300; ++i) sent.push_back(shapes[i % shapes.size()] + std::to_string(i));
    for (const auto& m : sent) a.publish("odd", m);
    ASSERT_TRUE(in_b.wait_for(base + sent.size(), 10s));
    const auto got = in_b.snapshot();
    ASSERT_EQ(got.size(), base + sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[base + i], "b:" + sent[i]) << i;
}

// How many connections named `application_name` the server has (pg_stat_activity).
int connections_named(const std::string& application_name) {
    PGconn* c = PQconnectdb(pg_url());
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return -1;
    }
    const char* params[1] = {application_name.c_str()};
    PGresult* r = PQexecParams(
        c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 1, nullptr,
        params, nullptr, nullptr, 0);
    const int n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return n;
}

TEST(ClusterBusPostgres, TheSendingConnectionIsMadeBeforeTheFirstMessage) {
    if (!pg_url()) GTEST_FAIL() << "BSOCIAL_TEST_PG_URL not set";
    // A replica's first message (a follow, say) must not wait for a connection's setup:
    // hundreds of ms on a loaded machine, in which a replica that dies loses the message and
    // the others keep a stale cache (the compose test's killed replica met it). Nothing is
    // published here: the sender must be there anyway, as soon as the bus listens.
    const std::string channel = "bus_eager_" + std::to_string(::getpid());
    cluster_bus bus(pg_url(), channel);
    inbox in;
    bus.on_resync([&] { const std::lock_guard l(in.mutex); ++in.resyncs; });
    bus.start();
    int senders = 0;
    for (int i = 0; i < 100 && senders != 1; ++i) {
        std::this_thread::sleep_for(20ms);
        senders = connections_named("bsocial bus_sender " + channel);
    }
    EXPECT_EQ(senders, 1);
    EXPECT_EQ(connections_named("bsocial listen " + channel), 1);
    const std::lock_guard l(in.mutex);
    EXPECT_EQ(in.resyncs, 1);  // listening
    EXPECT_TRUE(in.got.empty());
}

// Runs `sql` on a connection of its own; the first column of the first row ("" if none).
std::string query_value(const std::string& sql) {
    PGconn* c = PQconnectdb(pg_url());
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
        PQclear(r);
    }
    PQfinish(c);
    return out;
}

int resyncs_of(inbox& in) {
    const std::lock_guard l(in.mutex);
    return in.resyncs;
}

// Waits up to `limit` for `f()`.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
    for (const auto end = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < end; std::this_thread::sleep_for(20ms))
        if (f()) return true;
    return f();
}

TEST(ClusterBusPostgres, ABusGoneWithoutItsGoodbyeMakesTheOthersLookAgain) {
    if (!pg_url()) GTEST_FAIL() << "BSOCIAL_TEST_PG_URL not set";
    // A replica killed between a commit and the send of its message takes that message with
    // it: the others cannot know what they missed, so they forget their caches (on_resync)
    // once they see its LISTEN connection gone. Here a's is ended under it, as a kill -9 of
    // its process would (a reconnects; b only sees a listener gone without a goodbye).
    const std::string channel = "bus_gone_" + std::to_string(::getpid());
    cluster_bus a(pg_url(), channel), b(pg_url(), channel);
    inbox in_a, in_b;
    a.on_resync([&] { const std::lock_guard l(in_a.mutex); ++in_a.resyncs; });
    b.subscribe("ping", in_b.handler("b"));
    b.on_resync([&] { const std::lock_guard l(in_b.mutex); ++in_b.resyncs; });
    // a first, alone: the one listener of the channel is a's.
    a.start();
    ASSERT_TRUE(eventually([&] { return resyncs_of(in_a) == 1; }, 10s));
    const std::string listeners_sql =
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'bsocial listen " + channel + "'";
    const std::string a_listener = query_value(listeners_sql);
    ASSERT_FALSE(a_listener.empty());
    b.start();
    for (int i = 0; i < 100 && !in_b.wait_for(1, 50ms); ++i) a.publish("ping", "");
    ASSERT_TRUE(in_b.wait_for(1));
    // b has looked at its peers at least once with a there (one look per second).
    std::this_thread::sleep_for(cluster_bus::peer_check_interval * 2);
    ASSERT_EQ(resyncs_of(in_b), 1);  // its first connect
    ASSERT_EQ(query_value("SELECT pg_terminate_backend(" + a_listener + ")"), "t");
    EXPECT_TRUE(eventually([&] { return resyncs_of(in_b) == 2; }, 4s))
        << "b did not look again after a's bus went";
    EXPECT_EQ(b.peers_lost(), 1u);
    std::this_thread::sleep_for(cluster_bus::peer_check_interval * 2);
    EXPECT_EQ(resyncs_of(in_b), 2);  // once: a's new listener is a peer like any other
}

TEST(ClusterBusPostgres, ABusThatStopsSendsWhatIsQueuedAndSaysGoodbye) {
    if (!pg_url()) GTEST_FAIL() << "BSOCIAL_TEST_PG_URL not set";
    // An orderly stop (a rolling restart) costs the others nothing: its last messages are
    // sent, then its goodbye, so they keep their caches.
    const std::string channel = "bus_bye_" + std::to_string(::getpid());
    cluster_bus a(pg_url(), channel), b(pg_url(), channel);
    inbox in_b;
    b.subscribe("ping", in_b.handler("b"));
    b.subscribe("cache.drop", in_b.handler("b"));
    b.on_resync([&] { const std::lock_guard l(in_b.mutex); ++in_b.resyncs; });
    const auto base = start_both(a, b, in_b);
    ASSERT_GT(base, 0u);
    std::this_thread::sleep_for(cluster_bus::peer_check_interval * 2);
    for (int i = 0; i < 50; ++i) a.publish("cache.drop", "last " + std::to_string(i));
    a.stop();
    ASSERT_TRUE(in_b.wait_for(base + 50)) << "messages queued at the stop were not sent";
    EXPECT_EQ(in_b.snapshot().back(), "b:last 49");
    std::this_thread::sleep_for(cluster_bus::peer_check_interval * 3);
    EXPECT_EQ(resyncs_of(in_b), 1);  // its first connect only
    EXPECT_EQ(b.peers_lost(), 0u);
}

}  // namespace
