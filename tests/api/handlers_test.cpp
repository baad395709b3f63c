// The HTTP handlers of api/ called with the Beast-free request type through the real route
// table (api/routes.cpp), so that errors become problem responses as in the server: each
// handler's success and error paths with their exact statuses, problem codes and bodies.

#include "bsocial/api/handlers.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "bsocial/api/json_io.hpp"
#include "bsocial/api/routes.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::social_world;
namespace json = boost::json;

struct reply {
    unsigned status = 0;
    json::value body;
    http::response raw;

    std::string code() const {
        const auto* e = body.is_object() ? body.as_object().if_contains("error") : nullptr;
        return e ? std::string(e->at("code").as_string()) : std::string("(no error)");
    }
    json::object fields() const { return body.at("error").at("fields").as_object(); }
    bool has_fields() const { return body.at("error").as_object().contains("fields"); }
    const std::string* header(std::string_view name) const {
        for (const auto& [k, v] : raw.headers)
            if (k == name) return &v;
        return nullptr;
    }
    std::vector<std::string> item_strings(const char* key) const {
        std::vector<std::string> out;
        for (const auto& i : body.at("items").as_array()) out.emplace_back(i.at(key).as_string());
        return out;
    }
};

class Handlers : public ::testing::Test {
  protected:
    Handlers()
        : auth(w.sessions, {"https://app.example"}, false, social_world::token_ttl_seconds),
          sessions(w.accounts, w.sessions, auth),
          limits(w.clock, {}),
          people(*w.db, w.clock),
          users(w.accounts, w.graph, people, auth, roles, limits),
          posts(w.posts, auth, limits),
          ops(*w.db, stats, {}),
          router({.on_exception = [](const http::request& req, const std::exception& e) {
              ADD_FAILURE() << "500 from " << req.method << " " << req.path << ": " << e.what();
          }}) {
        api::add_routes(router, {sessions, users, posts, ops});
    }

    void SetUp() override {
        ada = w.add_user("ada");
        bob = w.add_user("bob");
        sessions::grant_admin(*w.db, "Ada", 0);  // case-insensitive
        ada_token = login_token("ada");
        bob_token = login_token("bob");
    }

    std::string login_token(const std::string& name) { return w.log_in(name).token.token; }

    /// A request as the server hands it over: lower-case header names, decoded query.
    reply call(std::string method, std::string target, std::string body = {},
               std::optional<std::string> token = std::nullopt, http::header_list extra = {}) {
        http::request req;
        req.method = std::move(method);
        const auto q = target.find('?');
        req.path = target.substr(0, q);
        if (q != std::string::npos) {
            std::string rest = target.substr(q + 1);
            while (!rest.empty()) {
                const auto amp = rest.find('&');
                const std::string pair = rest.substr(0, amp);
                const auto eq = pair.find('=');
                req.query.emplace_back(pair.substr(0, eq),
                                       eq == std::string::npos ? "" : pair.substr(eq + 1));
                rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
            }
        }
        req.client_address = client;
        req.headers.emplace_back("host", "bsocial.test");
        if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
        if (token) req.headers.emplace_back("authorization", "Bearer " + *token);
        for (auto& h : extra) req.headers.push_back(std::move(h));
        req.body = std::move(body);
        reply r;
        r.raw = router.dispatch(req);
        r.status = r.raw.status;
        if (!r.raw.body.empty() && r.raw.content_type == "application/json")
            r.body = json::parse(r.raw.body);
        return r;
    }
    reply get(const std::string& target, const std::string& token) {
        return call("GET", target, {}, token);
    }

    /// Every protected route refuses a missing, malformed, forged or revoked token.
    void expect_unauthenticated(const std::string& method, const std::string& target,
                                const std::string& body = {}) {
        SCOPED_TRACE(method + " " + target);
        for (const auto& r :
             {call(method, target, body), call(method, target, body, "not-a-token"),
              call(method, target, body, std::nullopt, {{"authorization", "Basic YWRhOnB3"}})}) {
            EXPECT_EQ(r.status, 401u);
            EXPECT_EQ(r.code(), "unauthorized");
            ASSERT_TRUE(r.header("WWW-Authenticate"));
            EXPECT_EQ(*r.header("WWW-Authenticate"), "Bearer");
        }
    }

    std::string client = "192.0.2.1";  ///< the requests' client address
    social_world w;
    http::metrics stats;
    sessions::authenticator auth;
    sessions::roles roles{*w.db, std::chrono::milliseconds(0)};  // read on every question
    api::sessions_handler sessions;
    social::user_limits limits;
    social::people people;
    api::users_handler users;
    api::posts_handler posts;
    api::ops_handler ops;
    http::router router;
    social::user ada, bob;
    std::string ada_token, bob_token;
};

std::string registration_body(const std::string& username) {
    return json::serialize(json::object{{"first_name", "Grace"},
                                        {"last_name", "Hopper"},
                                        {"username", username},
                                        {"email", username + "@example.com"},
                                        {"password", social_world::password},
                                        {"password_confirmation", social_world::password}});
}
}  // namespace

// ---- users_handler::register_user ------------------------------------------------------

TEST_F(Handlers, RegisterAnswers201WithTheUserAndEmail) {
    const auto r = call("POST", "/api/v1/users", registration_body("Grace"));
    ASSERT_EQ(r.status, 201u) << r.raw.body;
    const auto& u = r.body.at("user").as_object();
    EXPECT_EQ(u.at("username").as_string(), "grace");
    EXPECT_EQ(u.at("email").as_string(), "grace@example.com");
    EXPECT_EQ(u.at("first_name").as_string(), "Grace");
    EXPECT_FALSE(u.at("id").as_string().empty()) << "ids are strings";
    EXPECT_FALSE(u.contains("password_hash"));
}

TEST_F(Handlers, RegisterRefusesBodiesThatAreNotAJsonObject) {
    http::header_list text = {{"content-type", "text/plain"}};
    reply r = call("POST", "/api/v1/users", {}, std::nullopt, text);
    EXPECT_EQ(r.status, 415u);
    EXPECT_EQ(r.code(), "unsupported_media_type");
    r = call("POST", "/api/v1/users", "{\"username\":");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.code(), "malformed_json");
    r = call("POST", "/api/v1/users", "[1,2]");
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.code(), "validation_failed");
    EXPECT_EQ(r.body.at("error").at("message").as_string(), "the body must be a JSON object");
}

TEST_F(Handlers, RegisterNamesMissingAndMistypedFields) {
    const auto r =
        call("POST", "/api/v1/users", R"({"first_name": 7, "last_name": null, "username": ["x"]})");
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.code(), "validation_failed");
    EXPECT_EQ(r.fields(), (json::object{{"first_name", "must be a string"},
                                        {"last_name", "is required"},
                                        {"username", "must be a string"},
                                        {"email", "is required"},
                                        {"password", "is required"},
                                        {"password_confirmation", "is required"}}));
}

TEST_F(Handlers, RegisterOfATakenUsernameIs409AndAnInvalidOneIs422) {
    auto r = call("POST", "/api/v1/users", registration_body("ADA"));
    EXPECT_EQ(r.status, 409u);
    EXPECT_EQ(r.code(), "already_exists");
    EXPECT_EQ(r.fields().at("username").as_string(), "is already taken");
    r = call("POST", "/api/v1/users", registration_body("a b"));
    EXPECT_EQ(r.status, 422u);
    EXPECT_TRUE(r.fields().contains("username"));
}

// ---- sessions_handler ------------------------------------------------------------------

TEST_F(Handlers, LoginAnswersATokenAUserAndACookie) {
    const auto r = call("POST", "/api/v1/sessions",
                        R"({"login": "Ada@Example.com", "password": "correct horse battery"})");
    ASSERT_EQ(r.status, 200u) << r.raw.body;
    const auto token = std::string(r.body.at("token").as_string());
    EXPECT_EQ(r.body.at("token_type").as_string(), "Bearer");
    EXPECT_EQ(r.body.at("user").at("username").as_string(), "ada");
    EXPECT_EQ(r.body.at("user").at("email").as_string(), "ada@example.com");
    EXPECT_EQ(r.body.at("expires_at").as_string().size(), 24u) << "RFC 3339 with milliseconds";
    ASSERT_TRUE(r.header("Set-Cookie"));
    EXPECT_EQ(r.header("Set-Cookie")->rfind("bsocial_session=" + token + ";", 0), 0u);
    EXPECT_EQ(get("/api/v1/users/me", token).status, 200u);
}

TEST_F(Handlers, MeTellsWhetherTheCallerIsAnAdministrator) {
    const auto a = get("/api/v1/users/me", ada_token);
    ASSERT_EQ(a.status, 200u);
    EXPECT_EQ(a.body.at("is_admin"), json::value(true));
    const auto b = get("/api/v1/users/me", bob_token);
    ASSERT_EQ(b.status, 200u);
    EXPECT_EQ(b.body.at("is_admin"), json::value(false));
    // Revoked: the next question reads the database again.
    EXPECT_EQ(sessions::revoke_admin(*w.db, "ada"), sessions::role_change::done);
    EXPECT_EQ(get("/api/v1/users/me", ada_token).body.at("is_admin"), json::value(false));
}

TEST_F(Handlers, LoginErrors) {
    auto r = call("POST", "/api/v1/sessions", R"({"login": "ada"})");
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.fields(), (json::object{{"password", "is required"}}));
    r = call("POST", "/api/v1/sessions", "not json");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.code(), "malformed_json");
    r = call("POST", "/api/v1/sessions", R"({"login": "ada", "password": "wrong password"})");
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.code(), "invalid_credentials");
    EXPECT_FALSE(r.header("Set-Cookie"));
    for (int i = 1; i < social_world::max_login_failures; ++i)
        call("POST", "/api/v1/sessions", R"({"login": "ada", "password": "wrong password"})");
    r = call("POST", "/api/v1/sessions",
             R"({"login": "ada", "password": "correct horse battery"})");
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(r.code(), "rate_limited");
    ASSERT_TRUE(r.header("Retry-After"));
    EXPECT_GT(std::stoi(*r.header("Retry-After")), 0);
}

TEST_F(Handlers, LogoutRevokesTheTokenAndClearsTheCookie) {
    const auto r = call("DELETE", "/api/v1/sessions/current", {}, ada_token);
    EXPECT_EQ(r.status, 204u);
    EXPECT_TRUE(r.raw.body.empty());
    ASSERT_TRUE(r.header("Set-Cookie"));
    EXPECT_NE(r.header("Set-Cookie")->find("Max-Age=0"), std::string::npos);
    const auto again = get("/api/v1/users/me", ada_token);
    EXPECT_EQ(again.status, 401u);
    EXPECT_EQ(again.body.at("error").at("message").as_string(), "invalid or expired token");
    expect_unauthenticated("DELETE", "/api/v1/sessions/current");
}

// ---- authenticator ---------------------------------------------------------------------

TEST_F(Handlers, TheSessionCookieAuthenticatesAndItsWritesMustComeFromOurOrigin) {
    const http::header_list cookie = {{"cookie", "theme=dark; bsocial_session=" + ada_token}};
    EXPECT_EQ(call("GET", "/api/v1/users/me", {}, std::nullopt, cookie).status, 200u);

    auto foreign = cookie;
    foreign.emplace_back("origin", "https://evil.example");
    const auto refused =
        call("POST", "/api/v1/posts", R"({"content":"hi"})", std::nullopt, foreign);
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(refused.code(), "forbidden_origin");
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM posts"), 0);

    auto ours = cookie;
    ours.emplace_back("origin", "https://app.example");
    EXPECT_EQ(call("POST", "/api/v1/posts", R"({"content":"hi"})", std::nullopt, ours).status,
              201u);
    auto cross_site = cookie;
    cross_site.emplace_back("sec-fetch-site", "cross-site");
    EXPECT_EQ(call("POST", "/api/v1/posts", R"({"content":"hi"})", std::nullopt, cross_site).status,
              403u);
}

TEST_F(Handlers, AnExpiredTokenIsUnauthorized) {
    w.clock.advance_seconds(social_world::token_ttl_seconds + 1);
    const auto r = get("/api/v1/users/me", ada_token);
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.code(), "unauthorized");
}

// ---- users_handler ---------------------------------------------------------------------

TEST_F(Handlers, MeAnswersTheCallerWithEmail) {
    const auto r = get("/api/v1/users/me", bob_token);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.at("user").at("id").as_string(), std::to_string(bob.id));
    EXPECT_EQ(r.body.at("user").at("email").as_string(), "bob@example.com");
    expect_unauthenticated("GET", "/api/v1/users/me");
}

TEST_F(Handlers, ProfileShowsCountsAndHidesOtherPeoplesEmail) {
    EXPECT_EQ(call("PUT", "/api/v1/users/me/following/bob", {}, ada_token).status, 204u);
    auto r = get("/api/v1/users/Bob", ada_token);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.at("user").at("username").as_string(), "bob");
    EXPECT_FALSE(r.body.at("user").as_object().contains("email"));
    EXPECT_EQ(r.body.at("followers_count").as_int64(), 1);
    EXPECT_EQ(r.body.at("following_count").as_int64(), 0);
    EXPECT_EQ(r.body.at("followed_by_me").as_bool(), true);
    r = get("/api/v1/users/ada", ada_token);
    EXPECT_EQ(r.body.at("user").at("email").as_string(), "ada@example.com");
    EXPECT_EQ(r.body.at("followed_by_me").as_bool(), false);

    r = get("/api/v1/users/nobody", ada_token);
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.code(), "not_found");
    expect_unauthenticated("GET", "/api/v1/users/bob");
}

TEST_F(Handlers, FollowAndUnfollowErrors) {
    auto r = call("PUT", "/api/v1/users/me/following/ada", {}, ada_token);
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.fields(), (json::object{{"username", "is yourself"}}));
    r = call("PUT", "/api/v1/users/me/following/nobody", {}, ada_token);
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.code(), "not_found");
    r = call("DELETE", "/api/v1/users/me/following/nobody", {}, ada_token);
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(call("DELETE", "/api/v1/users/me/following/bob", {}, ada_token).status, 204u)
        << "not following is fine";
    expect_unauthenticated("PUT", "/api/v1/users/me/following/bob");
    expect_unauthenticated("DELETE", "/api/v1/users/me/following/bob");
}

TEST_F(Handlers, FollowersAndFollowingArePagedWithALinkHeader) {
    for (const char* name : {"cat", "dan", "eve"}) {
        w.add_user(name);
        call("PUT", std::string("/api/v1/users/me/following/") + name, {}, ada_token);
        call("PUT", "/api/v1/users/me/following/ada", {}, login_token(name));
    }
    auto r = get("/api/v1/users/ada/following?limit=2", bob_token);
    ASSERT_EQ(r.status, 200u) << r.raw.body;
    EXPECT_EQ(r.item_strings("username"), (std::vector<std::string>{"cat", "dan"}));
    const std::string next(r.body.at("next_cursor").as_string());
    ASSERT_TRUE(r.header("Link"));
    EXPECT_EQ(*r.header("Link"),
              "</api/v1/users/ada/following?limit=2&cursor=" + next + ">; rel=\"next\"");
    r = get("/api/v1/users/ada/following?limit=2&cursor=" + next, bob_token);
    EXPECT_EQ(r.item_strings("username"), (std::vector<std::string>{"eve"}));
    EXPECT_TRUE(r.body.at("next_cursor").is_null());
    EXPECT_FALSE(r.header("Link"));

    r = get("/api/v1/users/ada/followers", ada_token);
    EXPECT_EQ(r.item_strings("username"), (std::vector<std::string>{"cat", "dan", "eve"}));
    for (const auto& u : r.body.at("items").as_array())
        EXPECT_FALSE(u.as_object().contains("email")) << "only the caller's own e-mail is shown";

    EXPECT_EQ(get("/api/v1/users/nobody/followers", ada_token).status, 404u);
    EXPECT_EQ(get("/api/v1/users/nobody/following", ada_token).status, 404u);
    expect_unauthenticated("GET", "/api/v1/users/ada/followers");
    expect_unauthenticated("GET", "/api/v1/users/ada/following");
}

TEST_F(Handlers, ListsRefuseBadLimitsAndCursorsAndClampLargeLimits) {
    for (const std::string target : {"/api/v1/users/ada/followers", "/api/v1/users/ada/following",
                                     "/api/v1/users", "/api/v1/feed", "/api/v1/users/ada/posts"}) {
        SCOPED_TRACE(target);
        const std::string sep = target == "/api/v1/users" ? "?q=a&" : "?";
        for (const std::string limit : {"0", "-1", "abc", "1.5", "", "5x", "%2B5", "%205",
                                        "-100000000000000000000", "100000000000000000000x"}) {
            const auto r = get(target + sep + "limit=" + limit, ada_token);
            EXPECT_EQ(r.status, 422u) << limit;
            EXPECT_EQ(r.fields(),
                      (json::object{{"limit", "must be a whole number from 1 to 100"}}));
        }
        for (const std::string& cursor :
             std::vector<std::string>{"", "has space", "a%2Fb", std::string(201, 'a'), "AAAA"}) {
            const auto r = get(target + sep + "cursor=" + cursor, ada_token);
            EXPECT_EQ(r.status, 422u) << cursor;
            EXPECT_EQ(r.fields(), (json::object{{"cursor", "is invalid"}}));
        }
        EXPECT_EQ(get(target + sep + "limit=100000000000000000000", ada_token).status, 200u);
        EXPECT_EQ(get(target + sep + "limit=101", ada_token).status, 200u);
    }
}

TEST_F(Handlers, SearchFindsByPrefixAndRefusesLongQueries) {
    w.add_user("adam");
    auto r = get("/api/v1/users?q=AD&limit=1", bob_token);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.item_strings("username"), (std::vector<std::string>{"ada"}));
    ASSERT_TRUE(r.header("Link"));
    EXPECT_NE(r.header("Link")->find("&q=AD&cursor="), std::string::npos) << *r.header("Link");
    // a first and a last name fit (issue 28): 60 characters, not 61
    r = get("/api/v1/users?q=" + std::string(60, 'a'), bob_token);
    EXPECT_EQ(r.status, 200u);
    r = get("/api/v1/users?q=" + std::string(61, 'a'), bob_token);
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.fields(), (json::object{{"q", "must be at most 60 characters of UTF-8 text"}}));
    r = get("/api/v1/users?q=ada", ada_token);
    EXPECT_EQ(r.body.at("items").at(0).at("email").as_string(), "ada@example.com")
        << "the caller sees their own e-mail in a list";
    expect_unauthenticated("GET", "/api/v1/users?q=a");
}

// ---- posts_handler ---------------------------------------------------------------------

TEST_F(Handlers, CreateAndGetAPost) {
    auto r = call("POST", "/api/v1/posts", R"({"content": " hello "})", ada_token);
    ASSERT_EQ(r.status, 201u) << r.raw.body;
    const auto& p = r.body.at("post").as_object();
    EXPECT_EQ(p.at("content").as_string(), "hello");
    EXPECT_EQ(p.at("author").at("username").as_string(), "ada");
    EXPECT_EQ(p.at("comment_count").as_int64(), 0);
    const std::string id(p.at("id").as_string());
    r = get("/api/v1/posts/" + id, ada_token);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.at("post").at("id").as_string(), id);
    r = get("/api/v1/posts/" + id, bob_token);
    EXPECT_EQ(r.status, 404u) << "bob does not follow ada";
    EXPECT_EQ(r.code(), "not_found");
}

TEST_F(Handlers, CreatePostErrors) {
    auto r = call("POST", "/api/v1/posts", R"({"text": "hi"})", ada_token);
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.fields(), (json::object{{"content", "is required"}}));
    r = call("POST", "/api/v1/posts", R"({"content": 42})", ada_token);
    EXPECT_EQ(r.fields(), (json::object{{"content", "must be a string"}}));
    r = call("POST", "/api/v1/posts", R"({"content": "   "})", ada_token);
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.fields(), (json::object{{"content", "must not be empty"}}));
    r = call("POST", "/api/v1/posts", "{", ada_token);
    EXPECT_EQ(r.status, 400u);
    r = call("POST", "/api/v1/posts", "", ada_token, {{"content-type", "text/plain"}});
    EXPECT_EQ(r.status, 415u);
    expect_unauthenticated("POST", "/api/v1/posts", R"({"content": "hi"})");
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM posts"), 0);
}

TEST_F(Handlers, PathIdsThatAreNotPositiveIntegersAreNotFound) {
    for (const std::string id : {"0", "-1", "+1", "abc", "1e3", "99999999999999999999", "12x"}) {
        SCOPED_TRACE(id);
        for (const auto& r : {get("/api/v1/posts/" + id, ada_token),
                              get("/api/v1/posts/" + id + "/comments", ada_token),
                              call("POST", "/api/v1/posts/" + id + "/comments",
                                   R"({"content": "hi"})", ada_token)}) {
            EXPECT_EQ(r.status, 404u);
            EXPECT_EQ(r.code(), "not_found");
        }
    }
}

TEST_F(Handlers, FeedAndUserPosts) {
    call("PUT", "/api/v1/users/me/following/bob", {}, ada_token);
    for (const char* text : {"one", "two", "three"})
        call("POST", "/api/v1/posts", json::serialize(json::object{{"content", text}}), bob_token);
    auto r = get("/api/v1/feed?limit=2", ada_token);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.item_strings("content"), (std::vector<std::string>{"three", "two"}));
    const std::string next(r.body.at("next_cursor").as_string());
    r = get("/api/v1/feed?limit=2&cursor=" + next, ada_token);
    EXPECT_EQ(r.item_strings("content"), (std::vector<std::string>{"one"}));

    r = get("/api/v1/users/bob/posts", ada_token);
    EXPECT_EQ(r.item_strings("content"), (std::vector<std::string>{"three", "two", "one"}));
    r = get("/api/v1/users/ada/posts", bob_token);
    EXPECT_EQ(r.status, 404u) << "bob does not follow ada";
    EXPECT_EQ(r.code(), "not_found");
    EXPECT_EQ(get("/api/v1/users/nobody/posts", ada_token).status, 404u);
    expect_unauthenticated("GET", "/api/v1/feed");
    expect_unauthenticated("GET", "/api/v1/users/bob/posts");
}

TEST_F(Handlers, CommentsOnAPost) {
    const auto created = call("POST", "/api/v1/posts", R"({"content": "post"})", bob_token);
    const std::string id(created.body.at("post").at("id").as_string());
    const std::string path = "/api/v1/posts/" + id + "/comments";

    auto r = call("POST", path, R"({"content": "hi"})", ada_token);
    EXPECT_EQ(r.status, 404u) << "not visible to ada yet";
    call("PUT", "/api/v1/users/me/following/bob", {}, ada_token);
    r = call("POST", path, R"({"content": "hi"})", ada_token);
    ASSERT_EQ(r.status, 201u) << r.raw.body;
    EXPECT_EQ(r.body.at("comment").at("post_id").as_string(), id);
    EXPECT_EQ(r.body.at("comment").at("author").at("username").as_string(), "ada");
    r = call("POST", path, R"({"content": ""})", ada_token);
    EXPECT_EQ(r.status, 422u);
    EXPECT_EQ(r.fields(), (json::object{{"content", "must not be empty"}}));
    r = call("POST", path, R"({})", ada_token);
    EXPECT_EQ(r.fields(), (json::object{{"content", "is required"}}));
    r = call("POST", path, "[]", ada_token);
    EXPECT_EQ(r.status, 422u);

    r = get(path, bob_token);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.item_strings("content"), (std::vector<std::string>{"hi"}));
    EXPECT_EQ(get("/api/v1/posts/" + id, bob_token).body.at("post").at("comment_count").as_int64(),
              1);
    call("DELETE", "/api/v1/users/me/following/bob", {}, ada_token);
    EXPECT_EQ(get(path, ada_token).status, 404u);
    expect_unauthenticated("GET", path);
    expect_unauthenticated("POST", path, R"({"content": "hi"})");
}

// ---- ops_handler -----------------------------------------------------------------------

TEST_F(Handlers, HealthzReadyzAndMetrics) {
    auto r = call("GET", "/healthz");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, (json::value(json::object{{"status", "ok"}})));

    call("POST", "/api/v1/posts", R"({"content": "x"})", ada_token);  // one outbox row more
    const auto unsent = w.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL");
    r = call("GET", "/readyz");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.at("status").as_string(), "ready");
    EXPECT_EQ(r.body.at("checks").at("database").as_string(), "ok");
    EXPECT_EQ(r.body.at("outbox").at("backlog").as_int64(), unsent);

    r = call("GET", "/metrics");
    EXPECT_EQ(r.status, 404u) << "not for a client elsewhere (BSOCIAL_METRICS_TOKEN unset)";
    client = "127.0.0.1";
    r = call("GET", "/metrics");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.raw.content_type, "text/plain; version=0.0.4");
    EXPECT_NE(r.raw.body.find("\nbsocial_outbox_backlog " + std::to_string(unsent) + "\n"),
              std::string::npos)
        << r.raw.body;
}

TEST_F(Handlers, ReadyzIs503WhenACheckFailsAndShowsExtraDetails) {
    api::ops_handler failing(*w.db, stats,
                             {{"kafka", [] { return std::string("unreachable"); }},
                              {"hub", [] { return std::string("ok"); }}},
                             {.metrics = [] { return std::string("extra_metric 1\n"); },
                              .outbox_details =
                                  [] {
                                      return json::object{{"relay", "paused"}};
                                  }});
    http::request req;
    auto res = failing.readyz(req);
    EXPECT_EQ(res.status, 503u);
    const auto body = json::parse(res.body);
    EXPECT_EQ(body.at("status").as_string(), "not_ready");
    EXPECT_EQ(body.at("checks").at("kafka").as_string(), "unreachable");
    EXPECT_EQ(body.at("checks").at("hub").as_string(), "ok");
    EXPECT_EQ(body.at("outbox").at("relay").as_string(), "paused");
    EXPECT_TRUE(body.at("outbox").as_object().contains("backlog"));
    req.client_address = "127.0.0.1";  // /metrics: this host only (no token set)
    res = failing.metrics(req);
    EXPECT_NE(res.body.find("extra_metric 1\n"), std::string::npos);
}

TEST_F(Handlers, RoutesAnswer405WithAllowForAWrongMethod) {
    const auto r = call("PATCH", "/api/v1/posts", {}, ada_token);
    EXPECT_EQ(r.status, 405u);
    EXPECT_EQ(r.code(), "method_not_allowed");
    ASSERT_TRUE(r.header("Allow"));
    EXPECT_EQ(*r.header("Allow"), "POST");
}

// Issue 26: a page written from the posts' JSON serialized once is byte for byte the page
// list_response() builds as a JSON tree, and a reused post shows its current comment count.
TEST(PostJson, PageIsTheSameBytesAsTheJsonTreeAndCountsStayCurrent) {
    social::page<social::post> page;
    social::post p;
    p.id = 12;
    p.by = {7, "ada", "Ada \"the\" first", "Lövelace \\ \u2028"};
    p.content = "line\nbreak, tab\t, control \x01, emoji \xF0\x9F\x98\x80, </script>";
    p.created_at = 1'700'000'000'123;
    p.comment_count = 0;
    page.items.push_back(p);
    p.id = 9;
    p.by = {8, "bob", "", ""};
    p.content = "";
    p.created_at = 1'600'000'000'000;
    p.comment_count = 1234567890123;
    page.items.push_back(p);
    page.next_cursor = "dDE6MTYwMDAwMDAwMDAwMDo5";

    http::request req;
    req.method = "GET";
    req.path = "/api/v1/feed";
    req.query = {{"limit", "2"}};
    const auto tree = api::list_response<social::post>(
        req, page, [](const social::post& x, json::storage_ptr sp) { return api::to_json(x, sp); });
    api::post_json cache(4);
    const auto first = cache.page_response(req, page, 2);
    EXPECT_EQ(first.body, tree.body);
    EXPECT_EQ(first.headers, tree.headers);  // the Link header
    // Served again from the serialized text, after the first post got a comment.
    page.items[0].comment_count = 1;
    page.next_cursor.reset();
    const auto tree2 = api::list_response<social::post>(
        req, page, [](const social::post& x, json::storage_ptr sp) { return api::to_json(x, sp); });
    const auto second = cache.page_response(req, page, 2);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(second.body, tree2.body);
    EXPECT_TRUE(second.headers.empty());
    EXPECT_NE(second.body.find("\"comment_count\":1}"), std::string::npos);
}
