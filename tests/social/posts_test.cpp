// social::posts on an in-memory SQLite with a manual clock: posts, the visibility rule,
// the feed, an author's posts and comments, with their keyset pages.

#include "bsocial/social/posts.hpp"

#include <gtest/gtest.h>

#include "bsocial/core/error.hpp"
#include "bsocial/social/cursor.hpp"
#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::error_of;
using bsocial::testing::social_world;

template <class T>
std::vector<std::string> contents(const std::vector<T>& items) {
    std::vector<std::string> out;
    for (const auto& i : items) out.push_back(i.content);
    return out;
}

class Posts : public ::testing::Test {
  protected:
    void SetUp() override {
        ada = w.add_user("ada");
        bob = w.add_user("bob");
        eve = w.add_user("eve");
    }
    social::post post_as(const social::user& u, const std::string& text) {
        w.clock.advance_ms(10);
        return w.posts.create_post(u, text);
    }
    /// Every page, following next_cursor.
    template <class List>
    std::vector<std::string> walk(List list, int limit) {
        std::vector<std::string> all;
        social::page_request req{limit, std::nullopt};
        for (int pages = 0; pages < 200; ++pages) {
            const auto p = list(req);
            EXPECT_LE(static_cast<int>(p.items.size()), limit);
            for (const auto& item : p.items) all.push_back(item.content);
            if (!p.next_cursor) return all;
            req.cursor = p.next_cursor;
        }
        ADD_FAILURE() << "no last page";
        return all;
    }

    social_world w;
    social::user ada, bob, eve;
};
}  // namespace

TEST_F(Posts, CreatePostTrimsStoresQueuesAndRecordsAnEvent) {
    w.clock.advance_ms(500);
    const auto p = w.posts.create_post(ada, "  hello\nworld \t");
    EXPECT_GT(p.id, 0);
    EXPECT_EQ(p.content, "hello\nworld");
    EXPECT_EQ(p.created_at, w.clock.now_ms());
    EXPECT_EQ(p.comment_count, 0);
    EXPECT_EQ(p.by.id, ada.id);
    EXPECT_EQ(p.by.username, "ada");
    EXPECT_EQ(p.by.first_name, "First ada");
    EXPECT_EQ(p.by.last_name, "Last ada");
    EXPECT_EQ(w.events_of_type("post.created"), 1);
    EXPECT_EQ(w.fanout.backlog(), 1) << "queued for the fan-out worker";

    const auto read = w.posts.get_post(ada, p.id);
    EXPECT_EQ(read.id, p.id);
    EXPECT_EQ(read.content, "hello\nworld");
    EXPECT_EQ(read.created_at, p.created_at);
    EXPECT_EQ(read.by.username, "ada");
}

TEST_F(Posts, CreatePostRefusesInvalidContent) {
    const std::pair<std::string, std::string> cases[] = {
        {"   ", "must not be empty"},
        {std::string(1001, 'x'), "must be at most 1000 characters"},
        {"bell\a", "must not contain control characters"},
    };
    for (const auto& [text, why] : cases) {
        const auto e = error_of([&] { w.posts.create_post(ada, text); });
        EXPECT_EQ(e.code(), error_code::validation_failed);
        EXPECT_EQ(e.fields(), (field_errors{{"content", why}}));
    }
    EXPECT_NO_THROW(w.posts.create_post(ada, std::string(1000, 'x'))) << "the limit itself is fine";
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM posts"), 1);
}

TEST_F(Posts, APostIsVisibleToItsAuthorAndCurrentFollowersOnly) {
    const auto p = post_as(bob, "bob's");
    EXPECT_EQ(w.posts.get_post(bob, p.id).id, p.id);
    EXPECT_EQ(error_of([&] { w.posts.get_post(ada, p.id); }).code(), error_code::not_found);
    w.graph.follow(ada, "bob");
    EXPECT_EQ(w.posts.get_post(ada, p.id).content, "bob's");
    w.graph.unfollow(ada, "bob");
    EXPECT_EQ(error_of([&] { w.posts.get_post(ada, p.id); }).code(), error_code::not_found);
    EXPECT_EQ(error_of([&] { w.posts.get_post(bob, p.id + 1000); }).code(), error_code::not_found);
}

TEST_F(Posts, FeedHasMyPostsAndMyFolloweesNewestFirstBeforeAndAfterTheFanOut) {
    w.graph.follow(ada, "bob");
    post_as(ada, "a1");
    post_as(bob, "b1");
    post_as(eve, "e1");
    post_as(bob, "b2");
    const std::vector<std::string> expected = {"b2", "b1", "a1"};
    EXPECT_EQ(contents(w.posts.feed(ada, {20, std::nullopt}).items), expected)
        << "read from the fan-out queue";
    w.drain_fanout();
    EXPECT_EQ(w.fanout.backlog(), 0);
    EXPECT_EQ(contents(w.posts.feed(ada, {20, std::nullopt}).items), expected)
        << "read from the home timeline";
    EXPECT_EQ(contents(w.posts.feed(eve, {20, std::nullopt}).items),
              (std::vector<std::string>{"e1"}));
}

TEST_F(Posts, FeedPagesWalkEveryPostOnceIncludingTiesOnTheSameMillisecond) {
    w.graph.follow(ada, "bob");
    std::vector<std::string> expected;
    for (int i = 0; i < 9; ++i) {
        if (i % 3 == 0) w.clock.advance_ms(1);  // three posts per millisecond: ids break ties
        const auto& author = i % 2 ? bob : ada;
        w.posts.create_post(author, "p" + std::to_string(i));
        expected.insert(expected.begin(), "p" + std::to_string(i));
    }
    for (const bool fanned_out : {false, true}) {
        if (fanned_out) w.drain_fanout();
        for (int limit = 1; limit <= 10; ++limit)
            EXPECT_EQ(walk([&](const auto& r) { return w.posts.feed(ada, r); }, limit), expected)
                << "limit " << limit << (fanned_out ? " after" : " before") << " the fan-out";
    }
    const auto first = w.posts.feed(ada, {2, std::nullopt});
    ASSERT_TRUE(first.next_cursor);
    const auto c = social::decode_time_cursor(*first.next_cursor);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->id, first.items.back().id);
    EXPECT_EQ(c->created_at, first.items.back().created_at);
    EXPECT_FALSE(w.posts.feed(ada, {9, std::nullopt}).next_cursor) << "exactly one full page";
}

TEST_F(Posts, FeedFollowsTheGraphAfterFollowAndUnfollow) {
    post_as(bob, "b1");
    post_as(bob, "b2");
    w.drain_fanout();
    EXPECT_TRUE(w.posts.feed(ada, {20, std::nullopt}).items.empty());
    w.graph.follow(ada, "bob");
    EXPECT_EQ(contents(w.posts.feed(ada, {20, std::nullopt}).items),
              (std::vector<std::string>{"b2", "b1"}))
        << "a follow brings the followee's older posts";
    w.graph.unfollow(ada, "bob");
    EXPECT_TRUE(w.posts.feed(ada, {20, std::nullopt}).items.empty());
}

TEST_F(Posts, FeedRefusesAnInvalidCursor) {
    for (const std::string& bad :
         {std::string("nonsense"), social::encode_cursor(std::string_view("ada"))}) {
        const auto e = error_of([&] { w.posts.feed(ada, {20, bad}); });
        EXPECT_EQ(e.code(), error_code::validation_failed);
        EXPECT_EQ(e.fields(), (field_errors{{"cursor", "is invalid"}}));
    }
}

TEST_F(Posts, UserPostsAreMineOrAFolloweesOnlyNewestFirstAndPaged) {
    for (int i = 0; i < 5; ++i) post_as(bob, "b" + std::to_string(i));
    post_as(ada, "a0");
    EXPECT_EQ(contents(w.posts.user_posts(bob, "bob", {20, std::nullopt}).items),
              (std::vector<std::string>{"b4", "b3", "b2", "b1", "b0"}));
    // Whom you cannot see is not found, like a user that does not exist (S15).
    for (const std::string name : {"bob", "nobody", "no way"}) {
        const auto e = error_of([&] { w.posts.user_posts(ada, name, {20, std::nullopt}); });
        EXPECT_EQ(e.code(), error_code::not_found) << name;
        EXPECT_STREQ(e.what(), "no such user");
    }
    w.graph.follow(ada, "bob");
    EXPECT_EQ(walk([&](const auto& r) { return w.posts.user_posts(ada, "BOB", r); }, 2),
              (std::vector<std::string>{"b4", "b3", "b2", "b1", "b0"}));
    EXPECT_EQ(contents(w.posts.user_posts(ada, "ada", {20, std::nullopt}).items),
              (std::vector<std::string>{"a0"}));
    EXPECT_EQ(error_of([&] {
                  w.posts.user_posts(ada, "bob", {20, "!!"});
              }).code(),
              error_code::validation_failed);
}

TEST_F(Posts, AddCommentCountsItAndRecordsAnEvent) {
    const auto p = post_as(bob, "post");
    w.graph.follow(ada, "bob");
    w.clock.advance_ms(7);
    const auto c = w.posts.add_comment(ada, p.id, "  nice ");
    EXPECT_GT(c.id, 0);
    EXPECT_EQ(c.post_id, p.id);
    EXPECT_EQ(c.content, "nice");
    EXPECT_EQ(c.created_at, w.clock.now_ms());
    EXPECT_EQ(c.by.id, ada.id);
    EXPECT_EQ(c.by.username, "ada");
    w.posts.add_comment(bob, p.id, "thanks");
    EXPECT_EQ(w.posts.get_post(bob, p.id).comment_count, 2);
    EXPECT_EQ(w.events_of_type("comment.created"), 2);
}

TEST_F(Posts, AddCommentOnAnInvisiblePostIsNotFoundBeforeTheContentIsChecked) {
    const auto p = post_as(bob, "post");
    EXPECT_EQ(error_of([&] { w.posts.add_comment(ada, p.id, "hi"); }).code(),
              error_code::not_found);
    EXPECT_EQ(error_of([&] { w.posts.add_comment(ada, p.id, ""); }).code(), error_code::not_found)
        << "an invisible post does not reveal itself through a validation error";
    EXPECT_EQ(error_of([&] { w.posts.add_comment(bob, p.id + 99, "hi"); }).code(),
              error_code::not_found);
    const auto e = error_of([&] { w.posts.add_comment(bob, p.id, std::string(501, 'x')); });
    EXPECT_EQ(e.code(), error_code::validation_failed);
    EXPECT_EQ(e.fields(), (field_errors{{"content", "must be at most 500 characters"}}));
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM comments"), 0);
    EXPECT_EQ(w.posts.get_post(bob, p.id).comment_count, 0);
}

TEST_F(Posts, CommentsAreOldestFirstPagedAndHiddenWithTheirPost) {
    const auto p = post_as(bob, "post");
    w.graph.follow(ada, "bob");
    std::vector<std::string> expected;
    for (int i = 0; i < 7; ++i) {
        if (i % 2 == 0) w.clock.advance_ms(1);  // two per millisecond: ids break ties
        w.posts.add_comment(i % 2 ? ada : bob, p.id, "c" + std::to_string(i));
        expected.push_back("c" + std::to_string(i));
    }
    for (int limit = 1; limit <= 8; ++limit)
        EXPECT_EQ(walk([&](const auto& r) { return w.posts.comments(ada, p.id, r); }, limit),
                  expected)
            << "limit " << limit;
    const auto first = w.posts.comments(bob, p.id, {3, std::nullopt});
    EXPECT_EQ(first.items.front().by.username, "bob");
    EXPECT_EQ(first.items.front().post_id, p.id);
    EXPECT_TRUE(first.next_cursor);

    EXPECT_EQ(error_of([&] {
                  w.posts.comments(eve, p.id, {20, std::nullopt});
              }).code(),
              error_code::not_found);
    EXPECT_EQ(error_of([&] {
                  w.posts.comments(bob, p.id, {20, "%%"});
              }).code(),
              error_code::validation_failed);
    w.graph.unfollow(ada, "bob");
    EXPECT_EQ(error_of([&] {
                  w.posts.comments(ada, p.id, {20, std::nullopt});
              }).code(),
              error_code::not_found);
}

namespace {
/// A notification row as the notifier would store it for `comment_id` (notify's table).
void notify_about(social_world& w, std::int64_t comment_id, std::int64_t post_id,
                  std::int64_t recipient) {
    bsocial::store::lease sql_lease(w.db->requests());
    soci::session& sql = *sql_lease;
    sql << "INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username,"
           " excerpt, created_at) VALUES (:u, :c, :p, 1, 'x', 'x', 1)",
        soci::use(recipient), soci::use(comment_id), soci::use(post_id);
}
}  // namespace

TEST_F(Posts, OnlyTheAuthorDeletesAPostAndEveryoneElseGetsNotFound) {
    const auto p = post_as(bob, "mine");
    w.graph.follow(ada, "bob");
    for (const auto& who : {ada, eve})  // a follower who sees it, a stranger who does not
        EXPECT_EQ(error_of([&] { w.posts.delete_post(who, p.id); }).code(), error_code::not_found);
    EXPECT_EQ(error_of([&] { w.posts.delete_post(bob, p.id + 99); }).code(),
              error_code::not_found);
    EXPECT_EQ(w.posts.get_post(ada, p.id).id, p.id) << "still there";
    EXPECT_EQ(w.events_of_type("post.deleted"), 0);

    w.posts.delete_post(bob, p.id);
    EXPECT_EQ(error_of([&] { w.posts.get_post(bob, p.id); }).code(), error_code::not_found);
    EXPECT_EQ(error_of([&] { w.posts.delete_post(bob, p.id); }).code(), error_code::not_found)
        << "a second delete";
    EXPECT_EQ(w.events_of_type("post.deleted"), 1);
}

TEST_F(Posts, ADeletedPostTakesItsCommentsNotificationsAndQueueEntryAndLeavesTheFeeds) {
    w.graph.follow(ada, "bob");
    const auto kept = post_as(bob, "kept");
    const auto p = post_as(bob, "doomed");
    const auto c1 = w.posts.add_comment(ada, p.id, "one");
    const auto c2 = w.posts.add_comment(bob, p.id, "two");
    const auto other = w.posts.add_comment(ada, kept.id, "on the kept post");
    notify_about(w, c1.id, p.id, bob.id);
    notify_about(w, other.id, kept.id, bob.id);
    EXPECT_EQ(w.fanout.backlog(), 2) << "both still queued for the fan-out";
    std::vector<std::string> announced;
    w.posts.announce_with([&](std::string_view topic, const std::string& payload) {
        announced.push_back(std::string(topic) + " " + payload);
    });

    w.posts.delete_post(bob, p.id);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM comments WHERE post_id = " + std::to_string(p.id)), 0);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM comments"), 1);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM notifications"), 1);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM timeline_fanout"), 1);
    (void)c2;
    w.drain_fanout();  // the worker never sees the deleted post
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM home_timeline WHERE post_id = " +
                       std::to_string(p.id)),
              0);
    for (const auto& reader : {ada, bob})
        EXPECT_EQ(walk([&](const auto& r) { return w.posts.feed(reader, r); }, 1),
                  std::vector<std::string>{"kept"});
    EXPECT_EQ(walk([&](const auto& r) { return w.posts.user_posts(ada, "bob", r); }, 5),
              std::vector<std::string>{"kept"});
    ASSERT_EQ(announced.size(), 1u);
    EXPECT_EQ(announced[0], "post.deleted {\"post_id\":\"" + std::to_string(p.id) +
                                "\",\"author_id\":\"" + std::to_string(bob.id) +
                                "\",\"created_at\":\"" + std::to_string(p.created_at) + "\"}");
}

TEST_F(Posts, AFannedOutPostLeavesTheTimelinesOfItsAuthorAndFollowers) {
    w.graph.follow(ada, "bob");
    w.graph.follow(eve, "bob");
    const auto p = post_as(bob, "fanned out");
    w.drain_fanout();
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM home_timeline WHERE post_id = " +
                       std::to_string(p.id)),
              3);
    w.posts.delete_post(bob, p.id);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM home_timeline"), 0);
    for (const auto& reader : {ada, bob, eve})
        EXPECT_TRUE(w.posts.feed(reader, {20, std::nullopt}).items.empty());
}

TEST_F(Posts, OnlyItsAuthorDeletesACommentWhichLowersTheCountAndTakesItsNotification) {
    const auto p = post_as(bob, "post");
    w.graph.follow(ada, "bob");
    const auto c = w.posts.add_comment(ada, p.id, "mine");
    w.posts.add_comment(bob, p.id, "the author's");
    notify_about(w, c.id, p.id, bob.id);
    // The post's author does not delete others' comments here; nor does anyone else.
    for (const auto& who : {bob, eve})
        EXPECT_EQ(error_of([&] { w.posts.delete_comment(who, c.id); }).code(),
                  error_code::not_found);
    EXPECT_EQ(error_of([&] { w.posts.delete_comment(ada, c.id + 99); }).code(),
              error_code::not_found);
    std::vector<std::string> announced;
    w.posts.announce_with([&](std::string_view topic, const std::string&) {
        announced.emplace_back(topic);
    });

    w.posts.delete_comment(ada, c.id);
    EXPECT_EQ(w.posts.get_post(bob, p.id).comment_count, 1);
    EXPECT_EQ(walk([&](const auto& r) { return w.posts.comments(bob, p.id, r); }, 5),
              std::vector<std::string>{"the author's"});
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM notifications"), 0);
    EXPECT_EQ(error_of([&] { w.posts.delete_comment(ada, c.id); }).code(), error_code::not_found);
    EXPECT_EQ(w.events_of_type("comment.deleted"), 1);
    EXPECT_EQ(announced, std::vector<std::string>{"comment.deleted"});
    EXPECT_EQ(w.posts.get_post(bob, p.id).comment_count, 1) << "a second delete changed nothing";
}

TEST_F(Posts, ACommentIsNotAddedToADeletedPost) {
    const auto p = post_as(bob, "post");
    w.posts.delete_post(bob, p.id);
    EXPECT_EQ(error_of([&] { w.posts.add_comment(bob, p.id, "late"); }).code(),
              error_code::not_found);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM comments"), 0);
}

TEST_F(Posts, IdsOfDeletedPostsAndCommentsAreNeverGivenAgain) {
    // SQLite gives max(rowid) + 1 unless the table is AUTOINCREMENT (migration 9): deleting
    // the newest post or comment must not hand its id to the next one.
    w.graph.follow(ada, "bob");
    const auto p = post_as(bob, "newest");
    const auto c = w.posts.add_comment(ada, p.id, "newest comment");
    w.posts.delete_comment(ada, c.id);
    EXPECT_GT(w.posts.add_comment(ada, p.id, "next").id, c.id);
    w.posts.delete_post(bob, p.id);
    EXPECT_GT(post_as(bob, "next").id, p.id);
}
