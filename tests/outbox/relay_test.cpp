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
