#include "bsocial/outbox/relay.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <filesystem>
#include <thread>

#include "bsocial/core/random.hpp"
#include "bsocial/outbox/outbox.hpp"

namespace {
using namespace bsocial;
using namespace bsocial::events;
using namespace bsocial::outbox;

/// Records what it was asked to publish and acknowledges what the test says.
class fake_publisher final : public publisher {
  public:
    std::vector<std::vector<std::int64_t>> batches;
    std::function<bool(const outbox_row&)> acknowledge = [](const outbox_row&) { return true; };

    std::vector<std::int64_t> publish(const std::vector<outbox_row>& rows,
                                      std::chrono::milliseconds) override {
        std::vector<std::int64_t> ids, acked;
        for (const auto& r : rows) {
            ids.push_back(r.id);
            if (acknowledge(r)) acked.push_back(r.id);
        }
        batches.push_back(ids);
        return acked;
    }
    std::string state() const override { return "fake"; }
};

class OutboxRelay : public ::testing::Test {
  protected:
    void SetUp() override {
        init_crypto();
        dir_ = std::filesystem::temp_directory_path() / ("relay-test-" + random_hex(6));
        db_ = std::make_unique<store::database>("sqlite:" + (dir_ / "t.db").string(), 1);
        db_->migrate();
    }
    void TearDown() override {
        db_.reset();
        std::filesystem::remove_all(dir_);
    }
    void append(int n) {
        bsocial::store::lease sql_lease(db_->requests());
        soci::session& sql = *sql_lease;
        for (int i = 0; i < n; ++i)
            append_to_outbox(sql,
                             post_created(i + 1, {1, "ada", "ada@example.com"}, "hi", 1000 + i));
    }
    std::int64_t unsent() {
        bsocial::store::lease sql_lease(db_->requests());
        soci::session& sql = *sql_lease;
        return read_backlog(sql).unsent;
    }

    std::filesystem::path dir_;
    std::unique_ptr<store::database> db_;
    system_clock clock_;
    fake_publisher out_;
};
}  // namespace

TEST_F(OutboxRelay, PublishesInIdOrderAndMarksAcknowledgedRowsSent) {
    append(5);
    outbox_relay relay(*db_, out_, clock_, {});
    const auto r = relay.run_once();
    EXPECT_EQ(r.fetched, 5);
    EXPECT_EQ(r.sent, 5);
    ASSERT_EQ(out_.batches.size(), 1u);
    EXPECT_EQ(out_.batches[0], (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(unsent(), 0);
    EXPECT_EQ(relay.run_once().fetched, 0) << "sent rows are not published again";
    EXPECT_EQ(relay.status().published_total, 5);
}

TEST_F(OutboxRelay, UnacknowledgedRowsStayForTheNextRound) {
    append(4);
    out_.acknowledge = [](const outbox_row& r) { return r.id % 2 == 0; };
    outbox_relay relay(*db_, out_, clock_, {});
    auto r = relay.run_once();
    EXPECT_EQ(r.fetched, 4);
    EXPECT_EQ(r.sent, 2);
    EXPECT_EQ(unsent(), 2);
    EXPECT_EQ(relay.status().failed_batches_total, 1);
    out_.acknowledge = [](const outbox_row&) { return true; };
    r = relay.run_once();
    EXPECT_EQ(out_.batches.back(), (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(unsent(), 0);
}

TEST_F(OutboxRelay, BrokerDownLosesNothing) {
    append(3);
    out_.acknowledge = [](const outbox_row&) { return false; };
    outbox_relay relay(*db_, out_, clock_, {});
    for (int i = 0; i < 3; ++i) EXPECT_EQ(relay.run_once().sent, 0);
    EXPECT_EQ(unsent(), 3);
    out_.acknowledge = [](const outbox_row&) { return true; };
    EXPECT_EQ(relay.run_once().sent, 3);
    EXPECT_EQ(unsent(), 0);
}

TEST_F(OutboxRelay, BatchesAreBounded) {
    append(7);
    relay_options options;
    options.batch_size = 3;
    outbox_relay relay(*db_, out_, clock_, options);
    EXPECT_EQ(relay.run_once().fetched, 3);
    EXPECT_EQ(relay.run_once().fetched, 3);
    EXPECT_EQ(relay.run_once().fetched, 1);
    EXPECT_EQ(unsent(), 0);
}

TEST_F(OutboxRelay, PrunesOnlySentRowsOlderThanTheRetention) {
    append(3);
    out_.acknowledge = [](const outbox_row& r) { return r.id != 3; };
    relay_options options;
    options.retention = std::chrono::hours(0);  // everything sent is old enough
    outbox_relay relay(*db_, out_, clock_, options);
    relay.run_once();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // sent_at < now
    EXPECT_EQ(relay.prune_sent(), 2);
    EXPECT_EQ(unsent(), 1) << "an unsent row is never pruned";
    relay_options keep;  // the default week keeps what was just sent
    out_.acknowledge = [](const outbox_row&) { return true; };
    outbox_relay relay2(*db_, out_, clock_, keep);
    relay2.run_once();
    EXPECT_EQ(relay2.prune_sent(), 0);
}

namespace {
/// Publishes through `inner`, after running `during` (what happens while Kafka is waited on).
class publisher_with_pause final : public publisher {
  public:
    publisher_with_pause(publisher& inner, std::function<void()> during)
        : inner_(inner), during_(std::move(during)) {}
    std::vector<std::int64_t> publish(const std::vector<outbox_row>& rows,
                                      std::chrono::milliseconds timeout) override {
        if (during_) during_();
        return inner_.publish(rows, timeout);
    }
    std::string state() const override { return "paused"; }

  private:
    publisher& inner_;
    std::function<void()> during_;
};

class fixed_clock final : public clock {
  public:
    std::int64_t now = 1'000'000;
    std::int64_t now_ms() const override { return now; }
};
}  // namespace

TEST_F(OutboxRelay, AClaimedBatchIsNotPublishedByAnotherRelayAndNoConnectionIsHeldMeanwhile) {
    append(4);
    fake_publisher other_out;
    outbox_relay other(*db_, other_out, clock_, {});
    outbox_relay::batch_result during{};
    bool request_connection_free = false;
    publisher_with_pause slow(out_, [&] {
        // While this relay waits for Kafka: another relay finds nothing to publish, and
        // a request gets the only request connection at once (nothing is held).
        during = other.run_once();
        store::lease sql(*db_);
        request_connection_free = true;
    });
    outbox_relay relay(*db_, slow, clock_, {});
    const auto r = relay.run_once();
    EXPECT_EQ(r.sent, 4);
    EXPECT_EQ(during.fetched, 0) << "rows claimed by a relay are not published by another";
    EXPECT_TRUE(other_out.batches.empty());
    EXPECT_TRUE(request_connection_free);
    EXPECT_EQ(unsent(), 0);
}

TEST_F(OutboxRelay, TheClaimOfARelayThatNeverMarkedItsBatchEndsAndAnotherPublishesIt) {
    append(2);
    fixed_clock at;
    relay_options options;
    options.flush_timeout = std::chrono::milliseconds(1000);
    options.claim_for = std::chrono::milliseconds(5000);
    // The first relay claims and publishes, then "dies" before marking: its publisher throws
    // after the broker took the rows (as a crash between publish and mark-sent would).
    publisher_with_pause dying(out_, [] { throw std::runtime_error("process died"); });
    outbox_relay first(*db_, dying, at, options);
    EXPECT_THROW(first.run_once(), std::runtime_error);
    fake_publisher second_out;
    outbox_relay second(*db_, second_out, at, options);
    EXPECT_EQ(second.run_once().fetched, 0) << "still claimed";
    at.now += 5001;
    const auto r = second.run_once();
    EXPECT_EQ(r.fetched, 2) << "the claim ended: published again (at least once)";
    EXPECT_EQ(unsent(), 0);
}

TEST_F(OutboxRelay, RowsTheBrokerDidNotAcknowledgeAreReleasedForTheNextTry) {
    append(3);
    out_.acknowledge = [](const outbox_row& r) { return r.id != 2; };
    fixed_clock at;
    outbox_relay relay(*db_, out_, at, {});
    EXPECT_EQ(relay.run_once().sent, 2);
    out_.acknowledge = [](const outbox_row&) { return true; };
    const auto again = relay.run_once();  // same instant: only a released claim allows this
    EXPECT_EQ(again.fetched, 1);
    EXPECT_EQ(unsent(), 0);
}
