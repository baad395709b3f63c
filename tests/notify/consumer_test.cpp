#include "bsocial/notify/consumer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "bsocial/core/random.hpp"
#include "bsocial/events/event.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/notify/notifications.hpp"

using namespace bsocial::notify;

namespace {
const std::string valid =
    R"({"id":"e1","type":"comment.created","version":1,"occurred_at":"2026-11-28T10:15:30.123Z",)"
    R"("data":{"comment_id":"9","post_id":"5","post_author_id":"2","user_id":"3","username":"bob",)"
    R"("email":"bob@x.io","content":"nice","created_at":"2026-11-28T10:15:30.123Z"}})";
}

TEST(ParseCommentEvent, ReadsEveryField) {
    bool malformed = true;
    const auto e = parse_comment_event(valid, malformed);
    ASSERT_TRUE(e);
    EXPECT_FALSE(malformed);
    EXPECT_EQ(e->comment_id, 9);
    EXPECT_EQ(e->post_id, 5);
    EXPECT_EQ(e->post_author_id, 2);
    EXPECT_EQ(e->commenter_id, 3);
    EXPECT_EQ(e->commenter_username, "bob");
    EXPECT_EQ(e->content, "nice");
    EXPECT_EQ(e->created_at, 1'795'860'930'123);
}

TEST(ParseCommentEvent, ACreatedAtThatIsNotAnRfc3339TimeIsPoison) {
    const std::string good = "\"created_at\":\"2026-11-28T10:15:30.123Z\"";
    for (const std::string bad_time :
         {"2026-13-28T10:15:30.123Z", "2026-11-28T10:15:99.123Z", "2026-11-28T10:15:30.123",
          " 2026-11-28T10:15:30.12Z", "yesterday"}) {
        std::string event = valid;
        event.replace(event.find(good), good.size(), "\"created_at\":\"" + bad_time + "\"");
        bool malformed = false;
        EXPECT_FALSE(parse_comment_event(event, malformed)) << bad_time;
        EXPECT_TRUE(malformed) << bad_time;
    }
}

TEST(ParseCommentEvent, OtherTypesAreSkippedNotPoison) {
    bool malformed = true;
    EXPECT_FALSE(parse_comment_event(R"({"type":"post.created","data":{}})", malformed));
    EXPECT_FALSE(malformed);
}

TEST(ParseCommentEvent, CommentDeletedOnTheSameTopicIsSkippedNotPoison) {
    // Issue 27: bsocial.comments also carries comment.deleted; the notifier deletes nothing
    // from it (the API deleted the notification in the delete's transaction).
    bsocial::init_crypto();
    const auto deleted = bsocial::events::comment_deleted(9, 5, 2, {3, "bob", "bob@x.io"}, 0);
    bool malformed = true;
    EXPECT_FALSE(parse_comment_event(bsocial::events::envelope_json(deleted), malformed));
    EXPECT_FALSE(malformed);
}

TEST(ParseCommentEvent, GarbageIsPoison) {
    for (const std::string& bad :
         {std::string("not json"), std::string("[]"), std::string(R"({"type":1})"),
          std::string(R"({"type":"comment.created","data":{"comment_id":"x"}})"),
          std::string(R"({"type":"comment.created"})")}) {
        bool malformed = false;
        EXPECT_FALSE(parse_comment_event(bad, malformed)) << bad;
        EXPECT_TRUE(malformed) << bad;
    }
}

TEST(Excerpt, KeepsShortTextAndCutsLongTextOnCodePoints) {
    EXPECT_EQ(excerpt_of("short"), "short");
    const std::string long_text(150, 'x');
    EXPECT_EQ(excerpt_of(long_text), std::string(100, 'x') + "…");
    std::string accents;
    for (int i = 0; i < 120; ++i) accents += "é";
    std::string expected;
    for (int i = 0; i < 100; ++i) expected += "é";
    EXPECT_EQ(excerpt_of(accents), expected + "…");
}

TEST(NotificationJson, MatchesTheContract) {
    notification n;
    n.id = 7;
    n.user_id = 2;
    n.comment_id = 9;
    n.post_id = 5;
    n.actor_id = 3;
    n.actor_username = "bob";
    n.excerpt = "nice";
    n.post_excerpt = "My first post";
    n.created_at = 1'795'860'930'123;
    EXPECT_EQ(
        notification_json(n),
        R"({"id":"7","type":"comment","post_id":"5","post_excerpt":"My first post","comment_id":"9","actor":{"id":"3","username":"bob"},)"
        R"("excerpt":"nice","created_at":"2026-11-28T10:15:30.123Z","delivered_at":null})");
    EXPECT_EQ(notification_frame(n).rfind(R"({"type":"notification","notification":{"id":"7")", 0),
              0u);
}

// Issue 9 item 11: an exception in the consumer's thread (here: librdkafka refuses to create
// a consumer without a group id) used to reach std::terminate and kill the notifier. It is
// now logged, counted, and retried after a back-off; stop() still returns promptly.
TEST(CommentConsumer, AFailureInItsThreadIsRetriedNotFatal) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("consumer-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        bsocial::store::database db("sqlite:" + (dir / "t.db").string(), 1);
        consumer_options o;
        o.brokers = "127.0.0.1:1";
        o.group_id = "";  // KafkaConsumer::create fails: the thread throws
        comment_consumer consumer(db, o);
        consumer.start();
        for (int i = 0; i < 500 && consumer.counters().restarts < 1; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_GE(consumer.counters().restarts, 1);
        consumer.stop();
        EXPECT_FALSE(consumer.counters().assigned);
    }
    std::filesystem::remove_all(dir);
}
