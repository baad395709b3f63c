#include "bsocial/api/routes.hpp"

namespace bsocial::api {

void add_routes(http::router& r, handlers h) {
    using http::request;
    const auto bind = [](auto& target, auto method) {
        return [&target, method](request& req) { return (target.*method)(req); };
    };
    // Registration and login wait for an Argon2 hash (auth::password_hasher): waiting pool.
    r.add("POST", "/api/v1/users", bind(h.users, &users_handler::register_user),
          http::runs_on::waiting_pool);
    r.add("GET", "/api/v1/users", bind(h.users, &users_handler::search));
    r.add("GET", "/api/v1/users/me", bind(h.users, &users_handler::me));
    r.add("GET", "/api/v1/users/me/suggestions", bind(h.users, &users_handler::suggestions));
    r.add("GET", "/api/v1/users/{username}", bind(h.users, &users_handler::profile));
    r.add("PUT", "/api/v1/users/me/following/{username}", bind(h.users, &users_handler::follow));
    r.add("DELETE", "/api/v1/users/me/following/{username}",
          bind(h.users, &users_handler::unfollow));
    r.add("GET", "/api/v1/users/{username}/followers", bind(h.users, &users_handler::followers));
    r.add("GET", "/api/v1/users/{username}/following", bind(h.users, &users_handler::following));
    r.add("GET", "/api/v1/users/{username}/posts", bind(h.posts, &posts_handler::user_posts));

    r.add("POST", "/api/v1/sessions", bind(h.sessions, &sessions_handler::login),
          http::runs_on::waiting_pool);
    r.add("DELETE", "/api/v1/sessions/current", bind(h.sessions, &sessions_handler::logout));
    r.add("GET", "/api/v1/sessions", bind(h.sessions, &sessions_handler::list));
    r.add("DELETE", "/api/v1/sessions/others", bind(h.sessions, &sessions_handler::revoke_others));
    r.add("DELETE", "/api/v1/sessions/{id}", bind(h.sessions, &sessions_handler::revoke));

    r.add("POST", "/api/v1/posts", bind(h.posts, &posts_handler::create));
    r.add("GET", "/api/v1/posts/{id}", bind(h.posts, &posts_handler::get));
    r.add("DELETE", "/api/v1/posts/{id}", bind(h.posts, &posts_handler::delete_post));
    // A warm page (session, timeline and posts in memory) is answered on the I/O thread;
    // the rest runs on the SQL pool (docs/performance.md).
    r.add(
        "GET", "/api/v1/feed",
        [&posts = h.posts](request& req) { return posts.feed_in_memory(req); },
        bind(h.posts, &posts_handler::feed));
    r.add("POST", "/api/v1/posts/{id}/comments", bind(h.posts, &posts_handler::add_comment));
    // Like the feed: a warm list (session, comments, whom I follow in memory; PostgreSQL)
    // on the I/O thread.
    r.add(
        "GET", "/api/v1/posts/{id}/comments",
        [&posts = h.posts](request& req) { return posts.list_comments_in_memory(req); },
        bind(h.posts, &posts_handler::list_comments));
    r.add("DELETE", "/api/v1/comments/{id}", bind(h.posts, &posts_handler::delete_comment));

    r.add("GET", "/healthz", bind(h.ops, &ops_handler::healthz), http::runs_on::io_thread);
    r.add("GET", "/readyz", bind(h.ops, &ops_handler::readyz));
    r.add("GET", "/metrics", bind(h.ops, &ops_handler::metrics));
}

}  // namespace bsocial::api
