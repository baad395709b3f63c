#include "bsocial/sessions/session_cache.hpp"

#include <algorithm>

#include "bsocial/core/prometheus.hpp"

namespace bsocial::sessions {

session_cache::session_cache(std::size_t max_sessions, std::int64_t believe_ms)
    : believe_ms_(std::max<std::int64_t>(believe_ms, 1)), sessions_(max_sessions) {}

std::uint64_t session_cache::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

std::optional<social::user> session_cache::find(const std::string& jti, std::int64_t user_id,
                                                std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    const entry* e = sessions_.peek(jti);
    if (!e || e->who.id != user_id) return std::nullopt;
    if (believe_ms_ != believe_forever && now_ms - e->read_at_ms >= believe_ms_) {
        sessions_.erase(jti);  // too old to believe: SQL again
        ++expired_;
        return std::nullopt;
    }
    ++hits_;
    return sessions_.find(jti)->who;
}

void session_cache::put(const std::string& jti, const social::user& who, std::uint64_t epoch,
                        std::int64_t read_at_ms) {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_) return;
    auto [e, inserted] = sessions_.try_emplace(jti, entry{who, read_at_ms});
    if (!inserted) *e = entry{who, std::max(e->read_at_ms, read_at_ms)};
}

void session_cache::revoked(const std::string& jti) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    ++revocations_;
    sessions_.erase(jti);
}

void session_cache::clear() {
    std::lock_guard lock(mutex_);
    ++epoch_;
    ++clears_;
    sessions_.clear();
}

std::size_t session_cache::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

std::string session_cache::metrics() const {
    std::lock_guard lock(mutex_);
    return prometheus_metric("bsocial_session_cache_sessions", "gauge",
                             "Checked sessions held in memory.",
                             static_cast<double>(sessions_.size())) +
           prometheus_metric("bsocial_session_cache_hits_total", "counter",
                             "Session checks answered from memory (no SQL).",
                             static_cast<double>(hits_)) +
           prometheus_metric("bsocial_session_cache_expired_total", "counter",
                             "Cached sessions read again from SQL after "
                             "BSOCIAL_SESSION_CACHE_BELIEVE_MS (PostgreSQL).",
                             static_cast<double>(expired_)) +
           prometheus_metric("bsocial_session_cache_revocations_total", "counter",
                             "Revocations applied to the cache (this replica's, and the "
                             "cluster bus's session.revoked).",
                             static_cast<double>(revocations_)) +
           prometheus_metric("bsocial_session_cache_clears_total", "counter",
                             "Times every cached session was forgotten (cluster bus resync).",
                             static_cast<double>(clears_));
}

}  // namespace bsocial::sessions
