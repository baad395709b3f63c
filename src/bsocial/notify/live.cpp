#include "bsocial/notify/live.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>

#include "bsocial/core/parse.hpp"
#include "bsocial/core/prometheus.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/store/session_pool.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::notify {

namespace json = boost::json;

namespace {
constexpr auto idle_wait = std::chrono::milliseconds(1000);
constexpr std::size_t max_queued = 100000;  // a stalled database must not grow memory forever

/// The id under `key` of a payload object (ids are strings of digits; numbers accepted too).
std::int64_t id_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (!v) return 0;
    if (v->is_string()) return parse_positive_id(v->as_string()).value_or(0);
    if (v->is_int64() && v->as_int64() > 0) return v->as_int64();
    return 0;
}
}  // namespace

live::live(store::database& db, hub& pushes, live_renderers render)
    : db_(db), pushes_(pushes), render_(std::move(render)), conns_(db.make_pool(2, "live")) {}

live::~live() { stop(); }

void live::start() {
    worker_.start([this] { run(); });
}

void live::stop() { worker_.stop(); }

void live::enqueue(kind what, std::string_view payload) {
    message m{what};
    if (what != kind::resync) {
        boost::system::error_code ec;
        const json::value v = json::parse(payload, ec);
        if (ec || !v.is_object()) {
            spdlog::warn("module=notify event=live_bad_message payload=\"{}\"",
                         payload.substr(0, 200));
            return;
        }
        const auto& o = v.as_object();
        switch (what) {
            case kind::post_created:
            case kind::post_deleted:
                m.id = id_field(o, "post_id");
                m.post_id = m.id;
                m.author_id = id_field(o, "author_id");
                break;
            default:
                m.id = id_field(o, "comment_id");
                m.post_id = id_field(o, "post_id");
                m.author_id = id_field(o, "post_author_id");
        }
        if (m.id == 0 || m.post_id == 0) {
            spdlog::warn("module=notify event=live_bad_message payload=\"{}\"",
                         payload.substr(0, 200));
            return;
        }
    }
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= max_queued) {
            spdlog::warn("module=notify event=live_queue_full dropped=1");
            return;
        }
        queue_.push_back(m);
    }
    worker_.nudge();
}

void live::on_post_created(std::string_view payload) { enqueue(kind::post_created, payload); }
void live::on_post_deleted(std::string_view payload) { enqueue(kind::post_deleted, payload); }
void live::on_comment_created(std::string_view payload) {
    enqueue(kind::comment_created, payload);
}
void live::on_comment_deleted(std::string_view payload) {
    enqueue(kind::comment_deleted, payload);
}
void live::on_resync() { enqueue(kind::resync, {}); }

bool live::watch(std::int64_t subscription, std::int64_t user_id, std::int64_t post_id) {
    // A repeated watch of the same post costs nothing (a client re-sends it after a
    // reconnect; a flood of them is bounded by the socket's frame rate and costs no SQL).
    if (post_id != 0 && pushes_.watching(subscription) != post_id) {
        store::lease sql(*conns_);
        ++sql_statements_;
        if (!social::visible_post(*sql, user_id, post_id)) return false;
    }
    pushes_.watch(subscription, post_id);
    return true;
}

void live::run() {
    while (!worker_.stopping()) {
        std::deque<message> batch;
        {
            std::lock_guard lock(mutex_);
            batch.swap(queue_);
        }
        for (const auto& m : batch) {
            try {
                const auto t0 = std::chrono::steady_clock::now();
                handle(m);
                last_push_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count();
            } catch (const std::exception& e) {
                // A database away: this push is lost (the clients resync on reconnect or
                // reload); the next messages are tried again.
                spdlog::warn("module=notify event=live_push_failed error=\"{}\"",
                             store::describe_error(e));
            }
            ++messages_;
        }
        if (batch.empty()) worker_.wait(idle_wait);
    }
}

std::vector<std::int64_t> live::audience(std::int64_t author_id) {
    store::lease sql(*conns_);
    ++sql_statements_;
    auto users = social::follower_ids(*sql, author_id);
    users.push_back(author_id);  // the author's own other tabs
    return users;
}

void live::handle(const message& m) {
    switch (m.what) {
        case kind::post_created: {
            if (pushes_.online_users() == 0) return;
            std::optional<social::post> p;
            {
                store::lease sql(*conns_);
                ++sql_statements_;
                p = social::post_by_id(*sql, m.id);
            }
            if (!p) return;  // deleted meanwhile
            const std::string frame =
                R"({"type":"post.created","post":)" + render_.post(*p) + "}";
            frames_ += pushes_.send_to_users(audience(p->by.id), frame);
            return;
        }
        case kind::post_deleted: {
            const std::string frame =
                R"({"type":"post.deleted","post_id":")" + std::to_string(m.id) + "\"}";
            if (pushes_.online_users() > 0 && m.author_id != 0)
                frames_ += pushes_.send_to_users(audience(m.author_id), frame);
            // a watcher who stopped following since still has it open
            frames_ += pushes_.send_to_watchers(m.id, frame);
            return;
        }
        case kind::comment_created: {
            if (!pushes_.watched(m.post_id)) return;
            std::optional<social::comment> c;
            {
                store::lease sql(*conns_);
                ++sql_statements_;
                c = social::comment_by_id(*sql, m.id);
            }
            if (!c) return;
            const std::string frame =
                R"({"type":"comment.created","comment":)" + render_.comment(*c) + "}";
            frames_ += pushes_.send_to_watchers(m.post_id, frame);
            return;
        }
        case kind::comment_deleted: {
            const std::string frame = R"({"type":"comment.deleted","comment_id":")" +
                                      std::to_string(m.id) + R"(","post_id":")" +
                                      std::to_string(m.post_id) + "\"}";
            frames_ += pushes_.send_to_watchers(m.post_id, frame);
            return;
        }
        case kind::resync:
            frames_ += pushes_.broadcast(R"({"type":"resync"})");
            return;
    }
}

live_stats live::stats() const {
    return {messages_.load(), frames_.load(), sql_statements_.load(),
            static_cast<double>(last_push_us_.load()) / 1000.0};
}

std::string live::metrics() const {
    const auto s = stats();
    return prometheus_metric("bsocial_live_messages_total", "counter",
                             "Cluster-bus messages of live posts and comments handled here.",
                             static_cast<double>(s.messages)) +
           prometheus_metric("bsocial_live_frames_total", "counter",
                             "Live post and comment frames queued to sockets here.",
                             static_cast<double>(s.frames)) +
           prometheus_metric("bsocial_live_sql_statements_total", "counter",
                             "SQL statements issued by live pushes and watch requests.",
                             static_cast<double>(s.sql_statements)) +
           prometheus_metric("bsocial_live_last_push_milliseconds", "gauge",
                             "The last live message's handling here: its reads, its frame "
                             "built once and queued to every socket of its audience.",
                             s.last_push_ms);
}

}  // namespace bsocial::notify
