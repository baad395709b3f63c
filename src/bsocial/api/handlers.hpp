#pragma once
// One handler class per resource. Handlers are thin: parse -> call the domain -> map the
// result to JSON. They run on the blocking-work pool (the server hands them over).

#include <boost/json/object.hpp>
#include <functional>

#include "bsocial/api/metrics_access.hpp"
#include "bsocial/api/post_json.hpp"
#include "bsocial/http/message.hpp"
#include "bsocial/http/metrics.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "bsocial/api/metrics_access.hpp"
#include "bsocial/sessions/roles.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/social/accounts.hpp"
#include "bsocial/social/graph.hpp"
#include "bsocial/social/people.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/social/user_limits.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::api {

class sessions_handler {
  public:
    sessions_handler(social::accounts& accounts, sessions::session_service& sessions,
                     const sessions::authenticator& auth);
    http::response login(http::request& req);   // POST /api/v1/sessions
    http::response logout(http::request& req);  // DELETE /api/v1/sessions/current
    http::response list(http::request& req);             // GET /api/v1/sessions
    http::response revoke(http::request& req);           // DELETE /api/v1/sessions/{id}
    http::response revoke_others(http::request& req);    // DELETE /api/v1/sessions/others

  private:
    social::accounts& accounts_;
    sessions::session_service& sessions_;
    const sessions::authenticator& auth_;
};

class users_handler {
  public:
    users_handler(social::accounts& accounts, social::graph& graph, social::people& people,
                  const sessions::authenticator& auth, const sessions::roles& roles,
                  social::user_limits& limits);
    http::response register_user(http::request& req);  // POST /api/v1/users
    http::response me(http::request& req);             // GET /api/v1/users/me (+ is_admin)
    http::response search(http::request& req);         // GET /api/v1/users?q=
    http::response profile(http::request& req);        // GET /api/v1/users/{username}
    http::response follow(http::request& req);         // PUT .../me/following/{username}
    http::response unfollow(http::request& req);       // DELETE .../me/following/{username}
    http::response followers(http::request& req);      // GET .../{username}/followers
    http::response following(http::request& req);      // GET .../{username}/following
    http::response suggestions(http::request& req);    // GET /api/v1/users/me/suggestions

  private:
    social::accounts& accounts_;
    social::graph& graph_;
    social::people& people_;  ///< search, suggestions, follow state of lists, post counts
    const sessions::authenticator& auth_;
    const sessions::roles& roles_;
    social::user_limits& limits_;  ///< follows and searches per user
};

class posts_handler {
  public:
    posts_handler(social::posts& posts, const sessions::authenticator& auth,
                  social::user_limits& limits);
    http::response create(http::request& req);         // POST /api/v1/posts
    http::response get(http::request& req);            // GET /api/v1/posts/{id}
    http::response feed(http::request& req);           // GET /api/v1/feed
    /// GET /api/v1/feed on the I/O thread: the page when memory holds the session and the
    /// whole page, else nullopt (feed() then runs on the SQL pool). Same answer as feed().
    std::optional<http::response> feed_in_memory(http::request& req);
    /// The posts' JSON made ahead (a login's warmed first page: sessions/feed_warmer.hpp).
    void prime_json(const std::vector<social::post>& posts) { json_.prime(posts); }
    std::optional<http::response> list_comments_in_memory(http::request& req);
    http::response user_posts(http::request& req);     // GET /api/v1/users/{username}/posts
    http::response add_comment(http::request& req);    // POST /api/v1/posts/{id}/comments
    http::response list_comments(http::request& req);  // GET /api/v1/posts/{id}/comments
    http::response delete_post(http::request& req);     // DELETE /api/v1/posts/{id}
    http::response delete_comment(http::request& req);  // DELETE /api/v1/comments/{id}

  private:
    social::posts& posts_;
    const sessions::authenticator& auth_;
    social::user_limits& limits_;  ///< posts and comments per user
    post_json json_;               ///< the posts' JSON, serialized once
};

/// A named readiness check: returns "ok" or why it is not ready.
struct readiness_check {
    std::string name;
    std::function<std::string()> run;
};

/// What the process adds to /metrics and /readyz; each may be empty.
struct ops_extras {
    /// Extra Prometheus text appended to /metrics (e.g. the relay's lag).
    std::function<std::string()> metrics;
    /// Extra details shown by /readyz under "outbox" (informational: the API stays ready
    /// while Kafka is down, since writes keep working and the outbox keeps the events).
    std::function<boost::json::object()> outbox_details;
    /// Who may read /metrics (everyone else: 404).
    metrics_access access;
};

class ops_handler {
  public:
    ops_handler(store::database& db, http::metrics& stats, std::vector<readiness_check> checks,
                ops_extras extras = {});
    http::response healthz(http::request& req);
    http::response readyz(http::request& req);
    http::response metrics(http::request& req);

  private:
    store::database& db_;
    http::metrics& stats_;
    std::vector<readiness_check> checks_;
    ops_extras extras_;
};

}  // namespace bsocial::api
