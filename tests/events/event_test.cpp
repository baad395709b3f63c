#include "bsocial/events/event.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "bsocial/core/random.hpp"

using namespace bsocial::events;
namespace json = boost::json;

namespace {
std::set<std::string> keys_of(const json::object& o) {
    std::set<std::string> k;
    for (const auto& kv : o) k.insert(std::string(kv.key()));
    return k;
}
}  // namespace

TEST(Event, EnvelopeHasExactlyTheContractFields) {
    bsocial::init_crypto();
    const auto e = post_created(7, {3, "alice", "alice@example.com"}, "hello", 1'795'860'930'123);
    const auto v = json::parse(envelope_json(e)).as_object();
    EXPECT_EQ(keys_of(v), (std::set<std::string>{"id", "type", "version", "occurred_at", "data"}));
    EXPECT_EQ(v.at("type"), "post.created");
    EXPECT_EQ(v.at("version"), 1);
    EXPECT_EQ(v.at("occurred_at"), "2026-11-28T10:15:30.123Z");
    EXPECT_TRUE(std::regex_match(
        std::string(v.at("id").as_string()),
        std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
    EXPECT_EQ(keys_of(v.at("data").as_object()),
              (std::set<std::string>{"post_id", "user_id", "username", "email", "content",
                                     "created_at"}));
    EXPECT_EQ(v.at("data").at("post_id"), "7");
    EXPECT_EQ(e.topic, "bsocial.posts");
    EXPECT_EQ(e.key, "7");
}

TEST(Event, KeysFollowTheContract) {
    bsocial::init_crypto();
    const user_fields a{1, "a", "a@x.io"}, b{2, "b", "b@x.io"};
    EXPECT_EQ(comment_created(9, 5, 2, a, "hi", 0).key, "5");  // post_id
    EXPECT_EQ(comment_created(9, 5, 2, a, "hi", 0).topic, "bsocial.comments");
    EXPECT_EQ(follow_changed(true, a, b, 0).key, "1");  // follower_id
    EXPECT_EQ(follow_changed(false, a, b, 0).type, "follow.deleted");
    EXPECT_EQ(user_logged_out(b, 0).key, "2");  // user_id
    const auto logout = json::parse(envelope_json(user_logged_out(b, 0))).as_object();
    EXPECT_EQ(keys_of(logout.at("data").as_object()),
              (std::set<std::string>{"user_id", "username", "logged_out_at"}));
}

TEST(Event, DeletionsFollowTheContract) {
    bsocial::init_crypto();
    const user_fields a{1, "a", "a@x.io"};
    const auto post = post_deleted(7, a, 1'795'860'930'123);
    EXPECT_EQ(post.type, "post.deleted");
    EXPECT_EQ(post.topic, "bsocial.posts");
    EXPECT_EQ(post.key, "7");  // post_id
    const auto p = json::parse(envelope_json(post)).as_object();
    EXPECT_EQ(keys_of(p.at("data").as_object()),
              (std::set<std::string>{"post_id", "user_id", "username", "deleted_at"}));
    EXPECT_EQ(p.at("data").at("deleted_at"), "2026-11-28T10:15:30.123Z");
    EXPECT_EQ(p.at("occurred_at"), "2026-11-28T10:15:30.123Z");

    const auto comment = comment_deleted(9, 5, 2, a, 0);
    EXPECT_EQ(comment.type, "comment.deleted");
    EXPECT_EQ(comment.topic, "bsocial.comments");
    EXPECT_EQ(comment.key, "5");  // post_id, like comment.created: one partition per post
    const auto c = json::parse(envelope_json(comment)).as_object();
    EXPECT_EQ(keys_of(c.at("data").as_object()),
              (std::set<std::string>{"comment_id", "post_id", "post_author_id", "user_id",
                                     "username", "deleted_at"}));
    EXPECT_EQ(c.at("data").at("post_author_id"), "2");
    EXPECT_EQ(c.at("data").at("user_id"), "1");
}
