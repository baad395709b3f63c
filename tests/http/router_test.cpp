#include "bsocial/http/router.hpp"

#include <gtest/gtest.h>

#include "bsocial/core/error.hpp"
#include "bsocial/http/metrics.hpp"

using namespace bsocial::http;

namespace {
handler echo(std::string name) {
    return [name](request& req) {
        response r;
        r.body = name;
        for (const auto& p : req.params) r.body += "|" + p;
        return r;
    };
}

request make(std::string method, std::string path) {
    request r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
}
}  // namespace

TEST(Router, LiteralSegmentsWinOverParameters) {
    router r;
    r.add("GET", "/api/v1/users/{username}", echo("profile"));
    r.add("GET", "/api/v1/users/me", echo("me"));
    auto req = make("GET", "/api/v1/users/me");
    EXPECT_EQ(r.dispatch(req).body, "me");
    req = make("GET", "/api/v1/users/alice");
    EXPECT_EQ(r.dispatch(req).body, "profile|alice");
    EXPECT_EQ(req.route, "/api/v1/users/{username}");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
    router r;
    r.add("GET", "/api/v1/feed", echo("feed"));
    auto req = make("GET", "/api/v1/nope");
    EXPECT_EQ(r.dispatch(req).status, 404u);
    req = make("POST", "/api/v1/feed");
    const auto res = r.dispatch(req);
    EXPECT_EQ(res.status, 405u);
    ASSERT_EQ(res.headers.size(), 1u);
    EXPECT_EQ(res.headers[0].first, "Allow");
    EXPECT_EQ(res.headers[0].second, "GET");
}

TEST(Router, DomainErrorsBecomeProblemsAndOtherExceptions500) {
    router r;
    r.add("GET", "/a", [](request&) -> response {
        throw bsocial::error(bsocial::error_code::validation_failed, "bad", {{"x", "why"}});
    });
    r.add("GET", "/b", [](request&) -> response { throw std::runtime_error("boom"); });
    auto req = make("GET", "/a");
    auto res = r.dispatch(req);
    EXPECT_EQ(res.status, 422u);
    EXPECT_NE(res.body.find("\"fields\":{\"x\":\"why\"}"), std::string::npos) << res.body;
    req = make("GET", "/b");
    res = r.dispatch(req);
    EXPECT_EQ(res.status, 500u);
    EXPECT_EQ(res.body.find("boom"), std::string::npos) << "internal details must not leak";
}

TEST(Router, TranslatedExceptionsGetTheirProblemAndOthersStay500) {
    router_hooks hooks;
    int logged = 0;
    hooks.on_exception = [&](const request&, const std::exception&) { ++logged; };
    // What serve does for a lost database connection: 503 + Retry-After instead of 500.
    hooks.translate_exception = [](const std::exception& e) -> std::optional<bsocial::error> {
        if (std::string(e.what()) != "connection lost") return std::nullopt;
        bsocial::error out(bsocial::error_code::unavailable, "the database is unavailable");
        out.retry_after_seconds = 1;
        return out;
    };
    router r(std::move(hooks));
    r.add("GET", "/lost", [](request&) -> response { throw std::runtime_error("connection lost"); });
    r.add("GET", "/bug", [](request&) -> response { throw std::runtime_error("boom"); });
    auto req = make("GET", "/lost");
    auto res = r.dispatch(req);
    EXPECT_EQ(res.status, 503u);
    bool retry_after_1 = false;
    for (const auto& [name, value] : res.headers)
        if (name == "Retry-After" && value == "1") retry_after_1 = true;
    EXPECT_TRUE(retry_after_1);
    EXPECT_EQ(logged, 0) << "a translated exception is an answer, not a bug to log";
    req = make("GET", "/bug");
    EXPECT_EQ(r.dispatch(req).status, 500u);
    EXPECT_EQ(logged, 1);
}

TEST(Router, EmptyParameterDoesNotMatch) {
    router r;
    r.add("GET", "/api/v1/posts/{id}", echo("post"));
    auto req = make("GET", "/api/v1/posts/");
    EXPECT_EQ(r.dispatch(req).status, 404u);
}

TEST(Router, WebSocketRouteWithoutHandshakeIs426AndOtherMethods405) {
    router r;
    r.add_websocket("/stream", [](request&) { return ws_decision{}; });
    auto req = make("GET", "/stream");
    auto res = r.dispatch(req);
    EXPECT_EQ(res.status, 426u);
    req = make("POST", "/stream");
    res = r.dispatch(req);
    EXPECT_EQ(res.status, 405u);
}

TEST(Router, ResolveGivesTheMatchedRoutesPool) {
    router r;
    r.add("POST", "/api/v1/sessions", echo("login"), runs_on::waiting_pool);
    r.add("GET", "/api/v1/sessions", echo("list"));
    r.add("GET", "/api/v1/users/{username}", echo("profile"), runs_on::waiting_pool);
    r.add("GET", "/api/v1/users/me", echo("me"));
    EXPECT_EQ(r.resolve(make("POST", "/api/v1/sessions")).where, runs_on::waiting_pool);
    EXPECT_EQ(r.resolve(make("GET", "/api/v1/sessions")).where, runs_on::sql_pool);
    EXPECT_EQ(r.resolve(make("GET", "/api/v1/users/alice")).where, runs_on::waiting_pool);
    EXPECT_EQ(r.resolve(make("GET", "/api/v1/users/me")).where, runs_on::sql_pool)
        << "the literal route wins, as in dispatch";
    EXPECT_EQ(r.resolve(make("DELETE", "/api/v1/sessions")).where, runs_on::sql_pool);
    EXPECT_EQ(r.resolve(make("GET", "/nowhere")).where, runs_on::sql_pool);
}

// Issue 26: a route answered from memory on the I/O thread, else by its handler on the pool.
TEST(Router, AnswerFromMemoryOrNulloptForThePool) {
    router r;
    bool in_memory = true;
    r.add(
        "GET", "/feed/{id}",
        [&in_memory](request& req) -> std::optional<response> {
            if (!in_memory) return std::nullopt;
            response res;
            res.body = "memory|" + req.params.at(0);
            return res;
        },
        echo("pool"));
    r.add("GET", "/plain", echo("plain"));
    auto req = make("GET", "/feed/7");
    auto found = r.resolve(req);
    auto res = r.answer_from_memory(req, found);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "memory|7");
    EXPECT_EQ(req.route, "/feed/{id}");
    in_memory = false;
    req = make("GET", "/feed/7");
    found = r.resolve(req);
    EXPECT_FALSE(r.answer_from_memory(req, found));
    EXPECT_EQ(r.dispatch(req, found).body, "pool|7");  // the same request, then on the pool
    req = make("GET", "/plain");
    EXPECT_FALSE(r.answer_from_memory(req, r.resolve(req)));  // no memory handler
    req = make("GET", "/nope");
    EXPECT_FALSE(r.answer_from_memory(req, r.resolve(req)));  // 404 is the pool's
}

TEST(Router, AnswerFromMemoryMapsErrorsAsDispatchDoes) {
    router r;
    r.add(
        "GET", "/feed",
        [](request&) -> std::optional<response> {
            throw bsocial::error(bsocial::error_code::unauthorized, "invalid or expired token");
        },
        echo("pool"));
    auto req = make("GET", "/feed");
    auto res = r.answer_from_memory(req, r.resolve(req));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401u);
}

TEST(Router, IoThreadRoutesResolveSo) {
    router r;
    r.add("GET", "/healthz", echo("ok"), runs_on::io_thread);
    auto req = make("GET", "/healthz");
    const auto found = r.resolve(req);
    EXPECT_EQ(found.where, runs_on::io_thread);
    EXPECT_EQ(r.dispatch(req, found).body, "ok");
}
