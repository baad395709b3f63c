#pragma once
// Live posts and comments on the notification WebSocket (issue 27; docs/notifications.md
// "Live posts and comments"). Every process with sockets gets the cluster bus's
// "post.created", "post.deleted", "comment.created" and "comment.deleted" messages
// (store::cluster_bus: the writer publishes after its commit, every replica receives) and
// pushes to ITS sockets:
//
//   post.created     {"type":"post.created","post":{…}}         the author's followers + author
//   post.deleted     {"type":"post.deleted","post_id":"…"}      the same + the post's watchers
//   comment.created  {"type":"comment.created","comment":{…}}   the sockets watching the post
//   comment.deleted  {"type":"comment.deleted","comment_id","post_id"}  the same
//
// Cost: a new post is ONE read of the post plus ONE read of the author's follower ids
// (index follows_by_followee), intersected in memory with the users online here, and one
// frame built once for every socket; nothing when nobody is online. A comment costs one read,
// and none unless a socket here watches its post. Deletions: one read (the followers) or none.
// The messages are handled on the live's own thread, in order, never on the bus's thread.
//
// Watching: a socket sends {"type":"watch","post_id":"…"} when it shows a post; the post
// must be visible to the socket's user (one query), else an error frame. One post per socket.
//
// Lifecycle (core/worker_thread.hpp): construct -> start() -> stop(). on_* are thread-safe.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "bsocial/core/worker_thread.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::notify {

/// The JSON text of a post and a comment exactly as the API returns them (api::to_json):
/// given by the app that builds the live, since notify does not include api.
struct live_renderers {
    std::function<std::string(const social::post&)> post;
    std::function<std::string(const social::comment&)> comment;
};

/// Counters (for /metrics and the bench).
struct live_stats {
    std::uint64_t messages = 0;        ///< bus messages handled
    std::uint64_t frames = 0;          ///< frames queued to sockets
    std::uint64_t sql_statements = 0;  ///< SQL statements the pushes and watches issued
    double last_push_ms = 0;           ///< the last message: from its dequeue to its last frame queued
};

class live {
  public:
    live(store::database& db, hub& pushes, live_renderers render);
    ~live();

    void start();
    void stop();

    /// Bus messages (payloads as in docs/notifications.md); queued, handled on the live's
    /// thread. A malformed payload is logged and dropped.
    void on_post_created(std::string_view payload);
    void on_post_deleted(std::string_view payload);
    void on_comment_created(std::string_view payload);
    void on_comment_deleted(std::string_view payload);
    /// The bus reconnected and messages may be lost: every socket gets {"type":"resync"}
    /// (the web app then reloads what it shows).
    void on_resync();

    /// A socket of `user_id` asks to watch `post_id` (0: stop watching). Returns false when
    /// the post does not exist or is not visible to the user (one query).
    bool watch(std::int64_t subscription, std::int64_t user_id, std::int64_t post_id);

    live_stats stats() const;
    std::string metrics() const;

  private:
    enum class kind { post_created, post_deleted, comment_created, comment_deleted, resync };
    struct message {
        kind what;
        std::int64_t id = 0;       ///< post or comment id
        std::int64_t post_id = 0;  ///< comment messages
        std::int64_t author_id = 0;
    };

    void enqueue(kind what, std::string_view payload);
    void run();
    void handle(const message& m);
    std::vector<std::int64_t> audience(std::int64_t author_id);

    store::database& db_;
    hub& pushes_;
    live_renderers render_;
    std::unique_ptr<store::session_pool> conns_;  // its own connections (pushes and watches)

    std::mutex mutex_;
    std::deque<message> queue_;

    std::atomic<std::uint64_t> messages_{0};
    std::atomic<std::uint64_t> frames_{0};
    std::atomic<std::uint64_t> sql_statements_{0};
    std::atomic<std::int64_t> last_push_us_{0};

    worker_thread worker_{"notify-live"};
};

}  // namespace bsocial::notify
