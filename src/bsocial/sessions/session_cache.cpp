#include "bsocial/sessions/session_cache.hpp"

namespace bsocial::sessions {

session_cache::session_cache(std::size_t max_sessions)
    : max_sessions_(max_sessions == 0 ? 1 : max_sessions) {}

std::uint64_t session_cache::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

std::optional<social::user> session_cache::find(const std::string& jti, std::int64_t user_id) {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(jti);
    if (it == sessions_.end() || it->second.who.id != user_id) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.who;
}

void session_cache::put(const std::string& jti, const social::user& who, std::uint64_t epoch) {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || sessions_.contains(jti)) return;
    while (sessions_.size() >= max_sessions_) {
        sessions_.erase(lru_.back());
        lru_.pop_back();
    }
    lru_.push_front(jti);
    sessions_.emplace(jti, entry{who, lru_.begin()});
}

void session_cache::revoked(const std::string& jti) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    const auto it = sessions_.find(jti);
    if (it == sessions_.end()) return;
    lru_.erase(it->second.lru);
    sessions_.erase(it);
}

std::size_t session_cache::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace bsocial::sessions
