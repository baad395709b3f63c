// social::graph on an in-memory SQLite: follow/unfollow, profiles, follower lists and
// username search, with their keyset pages.

#include "bsocial/social/graph.hpp"

#include <gtest/gtest.h>

#include "bsocial/core/error.hpp"
#include "bsocial/social/cursor.hpp"
#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::error_of;
using bsocial::testing::social_world;

std::vector<std::string> names(const social::page<social::user>& p) {
    std::vector<std::string> out;
    for (const auto& u : p.items) out.push_back(u.username);
    return out;
}

class Graph : public ::testing::Test {
  protected:
    void SetUp() override {
        ada = w.add_user("ada");
        bob = w.add_user("bob");
        cy = w.add_user("cy_x");
    }
    /// Every page of a list, following next_cursor, `limit` at a time.
    template <class List>
    std::vector<std::string> walk(List list, int limit) {
        std::vector<std::string> all;
        social::page_request req{limit, std::nullopt};
        for (int pages = 0; pages < 100; ++pages) {
            const auto p = list(req);
            EXPECT_LE(static_cast<int>(p.items.size()), limit);
            for (const auto& u : p.items) all.push_back(u.username);
            if (!p.next_cursor) return all;
            EXPECT_EQ(static_cast<int>(p.items.size()), limit) << "a short page has no next";
            req.cursor = p.next_cursor;
        }
        ADD_FAILURE() << "no last page";
        return all;
    }

    social_world w;
    social::user ada, bob, cy;
};
}  // namespace

TEST_F(Graph, FollowIsOneWayIdempotentAndCaseInsensitive) {
    w.graph.follow(ada, "BOB");
    w.graph.follow(ada, "bob");
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM follows"), 1);
    EXPECT_EQ(w.events_of_type("follow.created"), 1) << "a repeated follow changes nothing";

    const auto seen_by_ada = w.graph.get_profile(ada, "bob");
    EXPECT_EQ(seen_by_ada.who.id, bob.id);
    EXPECT_EQ(seen_by_ada.followers_count, 1);
    EXPECT_EQ(seen_by_ada.following_count, 0);
    EXPECT_TRUE(seen_by_ada.followed_by_me);
    const auto ada_seen_by_bob = w.graph.get_profile(bob, "Ada");
    EXPECT_EQ(ada_seen_by_bob.followers_count, 0);
    EXPECT_EQ(ada_seen_by_bob.following_count, 1);
    EXPECT_FALSE(ada_seen_by_bob.followed_by_me) << "following is one way";
}

TEST_F(Graph, FollowRecordsTheTimeOfTheClock) {
    w.clock.advance_ms(1234);
    w.graph.follow(ada, "bob");
    EXPECT_EQ(w.scalar("SELECT created_at FROM follows"), w.clock.now_ms());
}

TEST_F(Graph, FollowRefusesUnknownUsersAndYourself) {
    for (const std::string name : {"nobody", "no such", "", "x"}) {
        const auto e = error_of([&] { w.graph.follow(ada, name); });
        EXPECT_EQ(e.code(), error_code::not_found) << "'" << name << "'";
    }
    const auto self = error_of([&] { w.graph.follow(ada, "ADA"); });
    EXPECT_EQ(self.code(), error_code::validation_failed);
    EXPECT_EQ(self.fields(), (field_errors{{"username", "is yourself"}}));
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM follows"), 0);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM outbox WHERE event_type LIKE 'follow.%'"), 0);
}

TEST_F(Graph, UnfollowRemovesTheEdgeOnceAndNotFollowingIsFine) {
    w.graph.follow(ada, "bob");
    w.graph.unfollow(ada, "Bob");
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM follows"), 0);
    EXPECT_EQ(w.events_of_type("follow.deleted"), 1);
    EXPECT_NO_THROW(w.graph.unfollow(ada, "bob"));
    EXPECT_NO_THROW(w.graph.unfollow(ada, "cy_x"));
    EXPECT_EQ(w.events_of_type("follow.deleted"), 1) << "nothing changed, no event";
    EXPECT_FALSE(w.graph.get_profile(ada, "bob").followed_by_me);
}

TEST_F(Graph, UnfollowOfAnUnknownUserIsNotFound) {
    EXPECT_EQ(error_of([&] { w.graph.unfollow(ada, "nobody"); }).code(), error_code::not_found);
    EXPECT_EQ(error_of([&] { w.graph.unfollow(ada, "b@d"); }).code(), error_code::not_found);
}

TEST_F(Graph, ProfileOfAnUnknownUserIsNotFound) {
    EXPECT_EQ(error_of([&] { w.graph.get_profile(ada, "nobody"); }).code(), error_code::not_found);
    EXPECT_EQ(error_of([&] { w.graph.get_profile(ada, "../etc"); }).code(), error_code::not_found);
}

TEST_F(Graph, FollowersAndFollowingAreOrderedByUsernameAndPaged) {
    for (const char* name : {"eve", "dan", "fay", "gus"}) {
        const auto u = w.add_user(name);
        w.graph.follow(u, "ada");
        w.graph.follow(ada, name);
    }
    w.graph.follow(bob, "ada");
    const std::vector<std::string> followers = {"bob", "dan", "eve", "fay", "gus"};
    const std::vector<std::string> following = {"dan", "eve", "fay", "gus"};
    EXPECT_EQ(names(w.graph.followers("ada", {20, std::nullopt})), followers);
    EXPECT_EQ(names(w.graph.following("ADA", {20, std::nullopt})), following);
    for (int limit = 1; limit <= 6; ++limit) {
        EXPECT_EQ(walk([&](const auto& r) { return w.graph.followers("ada", r); }, limit),
                  followers)
            << "limit " << limit;
        EXPECT_EQ(walk([&](const auto& r) { return w.graph.following("ada", r); }, limit),
                  following)
            << "limit " << limit;
    }
    const auto first = w.graph.followers("ada", {2, std::nullopt});
    ASSERT_TRUE(first.next_cursor);
    EXPECT_EQ(social::decode_name_cursor(*first.next_cursor), "dan")
        << "the cursor names the last user of the page";
    EXPECT_TRUE(w.graph.followers("bob", {20, std::nullopt}).items.empty());
}

TEST_F(Graph, ListsRefuseAnInvalidCursorAndAnUnknownUser) {
    for (const std::string& bad :
         {std::string("garbage"), social::encode_cursor(social::time_cursor{1, 2})}) {
        for (const auto& e : {error_of([&] {
                                  w.graph.followers("ada", {20, bad});
                              }),
                              error_of([&] {
                                  w.graph.following("ada", {20, bad});
                              }),
                              error_of([&] {
                                  w.graph.search("a", {20, bad});
                              })}) {
            EXPECT_EQ(e.code(), error_code::validation_failed);
            EXPECT_EQ(e.fields(), (field_errors{{"cursor", "is invalid"}}));
        }
    }
    EXPECT_EQ(error_of([&] { w.graph.followers("nobody", {}); }).code(), error_code::not_found);
    EXPECT_EQ(error_of([&] { w.graph.following("nobody", {}); }).code(), error_code::not_found);
}

TEST_F(Graph, SearchMatchesAPrefixCaseInsensitivelyInUsernameOrder) {
    w.add_user("adam");
    w.add_user("Adele");
    w.add_user("bada");
    EXPECT_EQ(names(w.graph.search("AD", {20, std::nullopt})),
              (std::vector<std::string>{"ada", "adam", "adele"}));
    EXPECT_EQ(names(w.graph.search("adam", {20, std::nullopt})),
              (std::vector<std::string>{"adam"}));
    EXPECT_TRUE(w.graph.search("zz", {20, std::nullopt}).items.empty());
    EXPECT_EQ(names(w.graph.search("", {20, std::nullopt})),
              (std::vector<std::string>{"ada", "adam", "adele", "bada", "bob", "cy_x"}));
    EXPECT_EQ(walk([&](const auto& r) { return w.graph.search("", r); }, 4),
              (std::vector<std::string>{"ada", "adam", "adele", "bada", "bob", "cy_x"}));
}

TEST_F(Graph, SearchTreatsUnderscoreAndPercentAsPlainCharacters) {
    w.add_user("cyax");
    EXPECT_EQ(names(w.graph.search("cy_", {20, std::nullopt})), (std::vector<std::string>{"cy_x"}));
    EXPECT_TRUE(w.graph.search("%", {20, std::nullopt}).items.empty());
}
