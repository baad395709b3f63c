// The analytics routes without a search engine (the telemetry suite runs them against a real
// one): who may call them (401, 404 like an unknown route), argument checks (400), the 503
// when no search engine is configured or it does not answer; the SQL post lookup and the
// excerpt.

#include "bsocial/analytics/handler.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "bsocial/analytics/post_lookup.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::social_world;
namespace json = boost::json;

class Analytics : public ::testing::Test {
  protected:
    Analytics() : auth(w.sessions, {}, false, social_world::token_ttl_seconds) {}

    void SetUp() override {
        w.add_user("ada");
        w.add_user("bob");
        sessions::grant_admin(*w.db, "ADA", 0);  // case-insensitive
        ada = w.log_in("ada").token.token;
        bob = w.log_in("bob").token.token;
    }

    /// GET `path` (with an optional query) through a router holding the analytics routes.
    std::pair<unsigned, json::value> get(analytics::handler& h, const std::string& path,
                                         const std::string& token,
                                         std::vector<std::pair<std::string, std::string>> query = {}) {
        http::router router;
        analytics::add_analytics_routes(router, h);
        http::request req;
        req.method = "GET";
        req.path = path;
        req.query = std::move(query);
        req.client_address = "192.0.2.1";
        req.headers.emplace_back("host", "bsocial.test");
        if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
        const auto res = router.dispatch(req);
        return {res.status, res.body.empty() ? json::value() : json::parse(res.body)};
    }

    social_world w;
    sessions::authenticator auth;
    sessions::roles roles{*w.db};
    std::string ada, bob;
};

const char* const paths[] = {"/api/v1/analytics/logins", "/api/v1/analytics/top-posts",
                             "/api/v1/analytics/users/bob/extremes"};

TEST_F(Analytics, OnlyAdministratorsSeeThem) {
    analytics::handler h({}, *w.db, auth, roles);
    for (const auto* path : paths) {
        SCOPED_TRACE(path);
        EXPECT_EQ(get(h, path, "").first, 401u);
        const auto [status, body] = get(h, path, bob);
        EXPECT_EQ(status, 404u);
        EXPECT_EQ(body.at("error").at("code"), "not_found");
        EXPECT_EQ(body.at("error").at("message"), "no such resource");  // as an unknown route
    }
}

TEST_F(Analytics, BadDaysOrZoneIs400BeforeAnythingElse) {
    analytics::handler h({}, *w.db, auth, roles);
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"days", "0"}, {"days", "91"}, {"days", "-1"}, {"days", "7x"}, {"days", ""},
             {"tz", "Nowhere/Land"}, {"tz", "../etc"}, {"tz", "UTC\""}}) {
        SCOPED_TRACE(key + "=" + value);
        const auto [status, body] = get(h, paths[0], ada, {{key, value}});
        EXPECT_EQ(status, 400u);
        EXPECT_EQ(body.at("error").at("code"), "bad_request");
        EXPECT_EQ(std::string(body.at("error").at("message").as_string()).rfind(key + " must", 0), 0u);
    }
}

// What cannot be a username is an unknown user: 404 before the search engine is asked
// (it was a 503 without one, where the document promises a 404; issue 23).
TEST_F(Analytics, ExtremesOfSomethingThatIsNoUsernameIs404) {
    analytics::handler h({}, *w.db, auth, roles);
    for (const auto* name : {"ab", "al%20ice", "caf%C3%A9", "a-b"}) {
        SCOPED_TRACE(name);
        const auto [status, body] =
            get(h, std::string("/api/v1/analytics/users/") + name + "/extremes", ada);
        EXPECT_EQ(status, 404u);
        EXPECT_EQ(body.at("error").at("message"), "no such user");
    }
    EXPECT_EQ(get(h, "/api/v1/analytics/users/" + std::string(31, 'a') + "/extremes", ada).first,
              404u);
}

TEST_F(Analytics, NoSearchEngineIs503NamingTheSetting) {
    analytics::handler h({}, *w.db, auth, roles);
    for (const auto* path : paths) {
        const auto [status, body] = get(h, path, ada, {{"days", "7"}, {"tz", "Europe/Paris"}});
        EXPECT_EQ(status, 503u) << path;
        EXPECT_EQ(body.at("error").at("code"), "unavailable");
        EXPECT_NE(std::string(body.at("error").at("message").as_string()).find("BSOCIAL_ELASTICSEARCH_URL"),
                  std::string::npos);
    }
}

TEST_F(Analytics, AnEngineThatDoesNotAnswerIs503) {
    analytics::settings s;
    s.es.url = "http://127.0.0.1:9";  // discard: nobody listens
    s.es.request_timeout_ms = 1000;
    s.queries_dir =
        std::filesystem::path(BSOCIAL_QUERIES_DIR)
            .string();
    analytics::handler h(s, *w.db, auth, roles);
    const auto [status, body] = get(h, paths[1], ada);
    EXPECT_EQ(status, 503u);
    EXPECT_EQ(std::string(body.at("error").at("message").as_string())
                  .rfind("the search engine is unreachable", 0), 0u)
        << body;
}

// Issue 28 item 4: a post named by the analytics opens for an administrator who does not
// follow its author (the post page said "Post not found"); for anyone else the route does
// not exist, and the ordinary visibility rule is untouched.
TEST_F(Analytics, AdministratorsReadAnyPostReadOnlyOthersGet404) {
    const auto carol = w.add_user("carol");
    const auto p = w.posts.create_post(carol, "carol's post");
    const std::string path = "/api/v1/analytics/posts/" + std::to_string(p.id);
    analytics::handler h({}, *w.db, auth, roles);  // no search engine: not needed here

    const auto [status, body] = get(h, path, ada);
    ASSERT_EQ(status, 200u) << body;
    const auto& post = body.at("post");
    EXPECT_EQ(post.at("id").as_string(), std::to_string(p.id));
    EXPECT_EQ(post.at("content"), "carol's post");
    EXPECT_EQ(post.at("author").at("username"), "carol");
    EXPECT_EQ(post.at("comment_count"), 0);
    EXPECT_TRUE(post.at("created_at").is_string());

    EXPECT_EQ(get(h, path, "").first, 401u);
    const auto [other, other_body] = get(h, path, bob);
    EXPECT_EQ(other, 404u);
    EXPECT_EQ(other_body.at("error").at("message"), "no such resource");  // as an unknown route
    // the ordinary route keeps the visibility rule: someone who does not follow carol
    const auto dave = w.add_user("dave");
    EXPECT_THROW(w.posts.get_post(dave, p.id), bsocial::error);

    for (const auto* bad : {"999999", "0", "-1", "abc", "1x"}) {
        const auto [s404, b404] = get(h, std::string("/api/v1/analytics/posts/") + bad, ada);
        EXPECT_EQ(s404, 404u) << bad;
        EXPECT_EQ(b404.at("error").at("code"), "not_found") << bad;
    }
}

TEST_F(Analytics, SqlLookupGivesAuthorExcerptAndCountOfKnownPosts) {
    const auto carol = w.add_user("carol");
    const auto p = w.posts.create_post(carol, std::string(100, 'x'));
    const auto found = analytics::sql_post_lookup(*w.db)({std::to_string(p.id), "999999", "abc", std::to_string(p.id)});
    ASSERT_EQ(found.size(), 1u);
    const auto& d = found.at(std::to_string(p.id));
    EXPECT_EQ(d.author, "carol");
    EXPECT_EQ(d.excerpt, std::string(80, 'x') + "\u2026");
    EXPECT_EQ(d.comment_count, 0);
}

TEST(Excerpt, CutsAtCodePoints) {
    EXPECT_EQ(analytics::excerpt("short"), "short");
    EXPECT_EQ(analytics::excerpt("\u00e9\u00e9\u00e9", 2), "\u00e9\u00e9\u2026");  // 2-byte chars kept whole
    EXPECT_EQ(analytics::excerpt("ab", 2), "ab");
}

}  // namespace
