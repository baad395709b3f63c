#pragma once
// Pushes notifications to the WebSockets connected to THIS process, woken when one is
// stored rather than by polling for it:
// - PostgreSQL: a LISTEN connection receives "<recipient>:<id>" from the storing
//   transaction's NOTIFY (every instance at once); only ids whose recipient has a socket
//   here are read back, in one query.
// - SQLite: the writer's announce_committed() wakes this process's hub directly, and
//   touches a wake file next to the database that the hubs of other processes watch
//   (inotify); each reads the rows after the last id it saw (SQLite commits in id order).
// - A slow safety poll (options.safety_poll) re-reads recent rows in case a wake-up was
//   lost (LISTEN connection down, a crash between commit and wake-up).
// Subscribers are indexed by user id: a notification costs work for its recipient's
// sockets only, and an idle socket costs nothing per poll.
//
// Sessions: once per options.revocation_check one query (sessions::session_service::
// revoked_unexpired) reads the revoked, unexpired tokens (a logout on any instance) and closes the
// matching sockets (4001, "session ended"); a socket is closed when its token expires (4001,
// "session expired"). A user has at most options.sockets_per_user sockets here: the next one closes
// the oldest (4008, "too many sockets").
//
// Lifecycle (core/worker_thread.hpp): construct -> start() (own thread) -> stop().
// subscribe/unsubscribe/offer are thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "bsocial/core/worker_thread.hpp"
#include "bsocial/http/websocket.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/notify/settings.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::sessions {
class session_service;
}

namespace bsocial::notify {

/// WebSocket close codes of the stream (docs/notifications.md, docs/openapi.yaml).
inline constexpr unsigned short close_session_ended = 4001;  ///< revoked or expired token
inline constexpr unsigned short close_too_many_sockets = 4008;

/// JSON text of a notification as api.md defines it.
std::string notification_json(const notification& n);
/// The frame pushed over the socket: {"type":"notification","notification":{...}}.
std::string notification_frame(const notification& n);

struct hub_options {
    /// The database URL the store uses: "sqlite:<path>" (wake file "<path>-notify") or
    /// postgresql://... (LISTEN connection).
    std::string db_url;
    int sockets_per_user = 16;
    std::chrono::milliseconds safety_poll{1000};
    std::chrono::milliseconds revocation_check{500};
};

/// The hub's options from its settings (settings.hpp) and the URL of the database it reads.
inline hub_options make_hub_options(const hub_settings& settings, std::string db_url) {
    hub_options o;
    o.db_url = std::move(db_url);
    o.sockets_per_user = settings.sockets_per_user;
    o.safety_poll = std::chrono::milliseconds(settings.safety_poll_ms);
    return o;
}

class hub {
  public:
    /// The hub reads notifications and revocations over a connection of its own
    /// (db.make_pool), never the request pool's; `store` is the request path's and is not
    /// used by the hub.
    hub(store::database& db, notification_store& store, const sessions::session_service& sessions,
        hub_options options);
    ~hub();

    void start();
    void stop();

    /// Registers a socket whose token is `jti`, valid until `expires_at` (seconds since
    /// epoch); returns its subscription id. May close this user's oldest socket (cap).
    std::int64_t subscribe(std::int64_t user_id, std::string jti, std::int64_t expires_at,
                           std::shared_ptr<http::ws_connection> socket);
    void unsubscribe(std::int64_t subscription);

    /// Sends `n` to one subscription unless it was already sent there (the backlog sent
    /// at connect and the pusher may both offer it).
    void offer(std::int64_t subscription, const notification& n);

    /// Of `ids` (acks received on `subscription`), those that were sent there and not
    /// acknowledged yet; they count as acknowledged from now on. Acks of anything else (an
    /// id never pushed to this socket, or acked already) need no SQL: a flood of them
    /// costs nothing but parsing.
    std::vector<std::int64_t> take_unacked(std::int64_t subscription,
                                           const std::vector<std::int64_t>& ids);

    /// Closes at once the sockets of the session `jti` (4001, "session ended"): a
    /// "session.revoked" message of the cluster bus (a logout or a session ended on any
    /// replica). Any thread. The safety poll's close_revoked() stays the backstop.
    void close_session(const std::string& jti);
    // ---- live conversation (live.hpp; docs/notifications.md "Live posts and comments") ----
    /// The post `subscription` shows now (one per socket; 0: none). Replaces the previous.
    void watch(std::int64_t subscription, std::int64_t post_id);
    /// The post `subscription` watches (0: none, or no such subscription).
    std::int64_t watching(std::int64_t subscription) const;
    /// Whether any socket here watches `post_id`.
    bool watched(std::int64_t post_id) const;
    /// Whether `user_id` has a socket here.
    bool online(std::int64_t user_id) const;
    /// How many users have a socket here.
    std::size_t online_users() const;
    /// Sends `frame` to every socket here of each of `users` (those offline are skipped),
    /// except the socket `except` (0: none); returns the number of sockets it went to.
    std::size_t send_to_users(const std::vector<std::int64_t>& users, const std::string& frame,
                              std::int64_t except = 0);
    /// Sends `frame` to the sockets watching `post_id`; returns how many.
    std::size_t send_to_watchers(std::int64_t post_id, const std::string& frame);
    /// Sends `frame` to every socket here; returns how many.
    std::size_t broadcast(const std::string& frame);

    std::size_t connected() const;
    /// Its /metrics line: the sockets open on this process.
    std::string metrics() const;

  private:
    struct subscriber {
        std::int64_t user_id;
        std::string jti;
        std::int64_t expires_at;
        std::shared_ptr<http::ws_connection> socket;
        std::set<std::int64_t> sent;     ///< the most recent ids sent, bounded
        std::set<std::int64_t> unacked;  ///< sent, not acknowledged yet, bounded
        std::int64_t watching = 0;       ///< the post whose comments it gets live (0: none)
    };

    void run();
    void wake() noexcept;
    /// Sends `fresh` to their recipients' sockets here.
    void dispatch(const std::vector<notification>& fresh);
    /// Reads undelivered rows after the scan floor (SQLite: the last id seen; PostgreSQL:
    /// the last id seen a reorder window ago) and dispatches them.
    void scan();
    /// PostgreSQL: reads the notified ids whose recipient has a socket here.
    void fetch_notified(const std::vector<std::string>& payloads);
    void close_revoked();
    void close_expired(std::int64_t now_ms);
    /// Forgets that `subscription` watches `post_id`; mutex_ held.
    void unwatch_locked(std::int64_t subscription, std::int64_t post_id);
    /// Closes and forgets one subscription; mutex_ held.
    void drop_locked(std::int64_t subscription, unsigned short code, const char* reason);
    std::int64_t next_expiry_ms() const;

    store::database& db_;
    std::unique_ptr<store::session_pool> conns_;  // its own connection, never a request's
    notification_store store_;                    // over conns_
    const sessions::session_service& sessions_;
    hub_options options_;
    std::string wake_file_;               ///< SQLite only
    std::atomic<bool> announced_{false};  ///< announce_committed() since the last look
    int event_fd_ = -1;
    int listener_handle_ = 0;

    mutable std::mutex mutex_;
    std::map<std::int64_t, subscriber> subscribers_;
    std::unordered_map<std::int64_t, std::deque<std::int64_t>> by_user_;  ///< oldest first
    std::unordered_multimap<std::string, std::int64_t> by_jti_;
    std::multimap<std::int64_t, std::int64_t> by_expiry_;  ///< expires_at (s) -> subscription
    std::unordered_multimap<std::int64_t, std::int64_t> watchers_;  ///< post id -> subscription
    std::int64_t next_subscription_ = 1;

    std::int64_t last_seen_id_ = 0;  ///< pusher thread only
    /// (scan time, last_seen_id_ then): on PostgreSQL a scan re-reads from the id seen a
    /// reorder window ago. Pusher thread only.
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> horizon_;

    // Last: joined before the members its loop uses go. A stop wakes the poll() in run().
    worker_thread worker_{"notify-hub", {.on_stop = [this] { wake(); }}};
};

}  // namespace bsocial::notify
