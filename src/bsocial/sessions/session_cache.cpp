#include "bsocial/sessions/session_cache.hpp"

namespace bsocial::sessions {

session_cache::session_cache(std::size_t max_sessions) : sessions_(max_sessions) {}

std::uint64_t session_cache::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

std::optional<social::user> session_cache::find(const std::string& jti, std::int64_t user_id) {
    std::lock_guard lock(mutex_);
    const social::user* who = sessions_.peek(jti);
    if (!who || who->id != user_id) return std::nullopt;
    return *sessions_.find(jti);
}

void session_cache::put(const std::string& jti, const social::user& who, std::uint64_t epoch) {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || sessions_.contains(jti)) return;
    sessions_.try_emplace(jti, who);
}

void session_cache::revoked(const std::string& jti) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    sessions_.erase(jti);
}

std::size_t session_cache::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace bsocial::sessions
