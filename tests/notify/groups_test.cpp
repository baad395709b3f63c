// The per-post summary rows kept with each stored notification (issue 27), on SQLite:
// counts, distinct commenters, the newest names, read state, and refresh_group after a
// deletion. (tests/notify/test_groups.py covers the HTTP side on both databases.)
#include <gtest/gtest.h>
#include <soci/soci.h>

#include <filesystem>
#include <string>

#include "bsocial/core/random.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/store/database.hpp"
#include "bsocial/store/session_pool.hpp"

using namespace bsocial;
using notify::comment_event;
using notify::notification_store;

namespace {
struct groups_fixture : ::testing::Test {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("notify-groups-" + random_hex(8) + ".db"))
                           .string();
    std::unique_ptr<store::database> db;
    std::unique_ptr<notification_store> store;
    std::int64_t next_comment = 1;
    std::int64_t clock = 1'000;

    void SetUp() override {
        db = std::make_unique<store::database>("sqlite:" + path, 1);
        db->migrate();
        store = std::make_unique<notification_store>(*db);
    }
    void TearDown() override {
        store.reset();
        db.reset();
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
    /// A comment by `who` on `post` (written by user 10), stored as the notifier does.
    std::int64_t comment(std::int64_t post, std::int64_t who, std::int64_t comment_id = 0) {
        comment_event e;
        e.comment_id = comment_id ? comment_id : next_comment++;
        e.post_id = post;
        e.post_author_id = 10;
        e.commenter_id = who;
        e.commenter_username = "user" + std::to_string(who);
        e.content = "hi";
        e.created_at = clock += 1000;
        e.post_content = "post " + std::to_string(post);
        store::lease sql(db->requests());
        store::write_transaction tx(*sql, *db);
        notification_store::add(*sql, e);
        tx.commit();
        return e.comment_id;
    }
    void delete_comment_and_refresh(std::int64_t comment_id, std::int64_t post) {
        store::lease sql(db->requests());
        store::write_transaction tx(*sql, *db);
        *sql << "DELETE FROM notifications WHERE comment_id = :c", soci::use(comment_id);
        notification_store::refresh_group(*sql, 10, post);
        tx.commit();
    }
    std::vector<notify::notification_group> groups() {
        return store->groups(10, {100, std::nullopt}).items;
    }
    static std::vector<std::string> names(const notify::notification_group& g) {
        std::vector<std::string> out;
        for (const auto& a : g.recent_actors) out.push_back(a.username);
        return out;
    }
};
}  // namespace

TEST_F(groups_fixture, CountsDistinctCommentersAndNewestNamesPerPost) {
    comment(1, 20);
    comment(1, 30);
    comment(2, 30);
    const auto again = comment(1, 20);
    comment(1, 10);  // the author's own comment: no notification
    comment(1, 40);
    comment(1, 20, again);  // a redelivered event: nothing changes
    const auto gs = groups();
    ASSERT_EQ(gs.size(), 2u);
    EXPECT_EQ(gs[0].post_id, 1);  // the most recently active first
    EXPECT_EQ(gs[0].total, 4);
    EXPECT_EQ(gs[0].unread, 4);
    EXPECT_EQ(gs[0].actor_count, 3);
    EXPECT_EQ(names(gs[0]), (std::vector<std::string>{"user40", "user20", "user30"}));
    EXPECT_EQ(gs[0].post_excerpt, "post 1");
    EXPECT_EQ(gs[1].post_id, 2);
    EXPECT_EQ(gs[1].total, 1);
    const auto c = store->unread(10);
    EXPECT_EQ(c.groups, 2);
    EXPECT_EQ(c.notifications, 5);
}

TEST_F(groups_fixture, ReadStateAndRefreshAfterDeletions) {
    comment(1, 20);
    comment(1, 30);
    comment(2, 30);
    EXPECT_EQ(store->mark_read(10, 1), 1);
    EXPECT_EQ(store->mark_read(10, 1), 0);
    const auto late = comment(1, 50);  // after the read: unread
    auto g = groups()[0];
    EXPECT_EQ(g.total, 3);
    EXPECT_EQ(g.unread, 1);
    EXPECT_EQ(g.actor_count, 3);

    // The unread comment by a commenter who has no other: all three counts drop, the name goes.
    delete_comment_and_refresh(late, 1);
    g = groups()[0];
    EXPECT_EQ(g.post_id, 2);  // post 1's newest is now older than post 2's
    g = groups()[1];
    EXPECT_EQ(g.total, 2);
    EXPECT_EQ(g.unread, 0);
    EXPECT_EQ(g.actor_count, 2);
    EXPECT_EQ(names(g), (std::vector<std::string>{"user30", "user20"}));
    // user 50 may come back: counted as a new distinct commenter again
    comment(1, 50);
    EXPECT_EQ(groups()[0].actor_count, 3);

    // Every notification of post 2 gone: its group goes too; a refresh of no group is a no-op.
    {
        store::lease sql(db->requests());
        store::write_transaction tx(*sql, *db);
        *sql << "DELETE FROM notifications WHERE post_id = 2";
        notification_store::refresh_group(*sql, 10, 2);
        notification_store::refresh_group(*sql, 10, 999);
        tx.commit();
    }
    const auto gs = groups();
    ASSERT_EQ(gs.size(), 1u);
    EXPECT_EQ(gs[0].post_id, 1);
    EXPECT_EQ(store->unread(10).groups, 1);
    EXPECT_EQ(store->mark_read(10, std::nullopt), 1);
    EXPECT_EQ(store->unread(10).groups, 0);
}
