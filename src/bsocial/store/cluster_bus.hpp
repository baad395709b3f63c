#pragma once
// Messages between the processes that share one database: a cache entry to drop, a session
// revoked, a post to push to the sockets of every replica. On PostgreSQL one LISTEN/NOTIFY
// channel carries them (every `serve` replica gets every message, the publisher's own
// included, through the server); on SQLite one process owns the database and they are
// delivered in-process, on the same kind of thread, so subscribers see one behaviour.
//
// A message is a topic and a payload (small JSON: ids, never bodies; at most
// `max_payload` bytes). Delivery is at most once: a message sent while a process's LISTEN
// connection was down is lost for it, and every `on_resync` callback then runs (drop
// caches, look again). Per publishing process, messages arrive in publishing order.
// Messages waiting together when the bus's thread wakes go out in one statement, one
// transaction (up to 256): one commit and one signal to the listeners for all of them.
// PostgreSQL folds identical messages (same topic and payload) within one transaction into
// the first: a publisher of idempotent messages (a forget, a drop) loses nothing by it.
//
// On PostgreSQL the bus holds two connections, both made as it starts: one LISTENs, one
// sends (made before any message, so the first one does not wait for a connection's setup:
// a replica killed in that window took its messages with it, and the others' caches stayed
// stale). A process that dies between a commit and the send of its message still loses
// that message for everyone (the window is the bus thread's wake-up and one round trip),
// so every bus watches the others: each second it lists the LISTEN connections of its
// channel in its database (pg_stat_activity, application_name "bsocial listen <channel>"),
// and when one has gone without saying goodbye, it runs every `on_resync` callback, as
// after its own reconnect. A bus that stops says goodbye ("bus.leaving", after its last message), so a
// replica's orderly stop or restart costs the others nothing. PostgreSQL sees a killed
// process's connections close at once; a machine that vanished, when TCP gives up on it.
//
// Lifecycle (core/worker_thread.hpp): construct -> subscribe()/on_resync() -> start() ->
// stop(). Handlers run on the bus's own thread, one at a time: keep them short (drop an
// entry, post work to an io_context). publish() from any thread.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bsocial/core/worker_thread.hpp"

struct pg_conn;

namespace bsocial::store {

class pg_listener;

class cluster_bus {
  public:
    using handler = std::function<void(std::string_view payload)>;
    static constexpr std::size_t max_payload = 7000;  // NOTIFY allows 8000 bytes in all
    static constexpr const char* default_channel = "bsocial_bus";

    /// `pg_url`: postgresql://... for the cross-process bus; empty for in-process only.
    explicit cluster_bus(std::string pg_url, std::string channel = default_channel);
    ~cluster_bus();
    cluster_bus(const cluster_bus&) = delete;
    cluster_bus& operator=(const cluster_bus&) = delete;

    /// Before start(): every message on `topic` goes to `on_message` (several per topic
    /// allowed, called in subscription order).
    void subscribe(std::string topic, handler on_message);
    /// Before start(): runs after each (re)connect of the LISTEN connection, the first
    /// included, when messages may have been missed. Never runs for the in-process bus.
    void on_resync(std::function<void()> f);

    void start();
    void stop();

    /// Queues the message for every process. Throws std::invalid_argument when the topic
    /// is empty or has a newline, or the payload is longer than max_payload. Publish after
    /// the transaction that made the change committed.
    void publish(std::string_view topic, std::string_view payload);

    bool cross_process() const noexcept { return !url_.empty(); }
    /// Messages delivered to this process's handlers so far (tests, metrics).
    std::size_t delivered() const;
    /// Times another process's bus was found gone without its goodbye (its last messages
    /// may be lost: every on_resync callback ran).
    std::size_t peers_lost() const;
    /// Its /metrics lines: messages delivered, other buses found gone.
    std::string metrics() const;

    /// How often the other processes' buses are looked for.
    static constexpr std::chrono::milliseconds peer_check_interval{1000};
    /// The topic of a stopping bus's goodbye (payload: its LISTEN backend's pid). Handled
    /// by the bus itself.
    static constexpr const char* leaving_topic = "bus.leaving";

  private:
    void run_local();
    void run_pg();
    void wake() const;
    std::vector<std::string> take_outgoing();
    void dispatch(std::string_view message);
    void resync();
    /// Lists the other buses' LISTEN connections on `sender`; resyncs when one went
    /// without its goodbye. False when the query failed (the connection is suspect).
    bool check_peers(pg_conn* sender, pg_listener& listener);

    std::string url_;
    std::string channel_;
    std::map<std::string, std::vector<handler>, std::less<>> handlers_;
    std::vector<std::function<void()>> resync_;
    mutable std::mutex mutex_;
    std::deque<std::string> outgoing_;  ///< "topic\npayload", guarded by mutex_
    std::size_t delivered_ = 0;          ///< guarded by mutex_
    std::size_t peers_lost_ = 0;         ///< guarded by mutex_
    // The bus thread's own:
    std::set<int> peers_;                ///< other buses' LISTEN pids, at the last look
    bool peers_known_ = false;           ///< peers_ read since the last (re)connect
    std::set<int> leaving_;              ///< pids that said goodbye
    int wake_fd_ = -1;                   ///< eventfd: a publish, or stop
    worker_thread worker_;
};

}  // namespace bsocial::store
