#include "bsocial/analytics/closed_days.hpp"

#include <algorithm>
#include <iterator>

namespace bsocial::analytics {

namespace json = boost::json;

std::string closed_days::prefix(const std::string& entities_index, const std::string& tz) {
    return "q2|" + entities_index + "|" + tz + "|";
}

std::vector<std::string> closed_days::ranked(const json::value& bucket) {
    std::vector<std::string> out;
    const auto* day = bucket.if_object();
    if (!day) return out;
    const auto* top = day->if_contains("top_posts");
    if (!top || !top->is_object()) return out;
    const auto* list = top->as_object().if_contains("buckets");
    if (!list || !list->is_array()) return out;
    for (const auto& p : list->as_array()) {
        const auto* key = p.is_object() ? p.as_object().if_contains("key") : nullptr;
        if (!key) continue;
        if (key->is_string()) out.emplace_back(key->as_string());
        else if (key->is_int64()) out.push_back(std::to_string(key->as_int64()));
        else if (key->is_uint64()) out.push_back(std::to_string(key->as_uint64()));
        else if (key->is_double())
            out.push_back(std::to_string(static_cast<std::int64_t>(key->as_double())));
    }
    return out;
}

std::set<std::string> closed_days::lend(telemetry::day_cache& into, const std::string& prefix,
                                        std::int64_t now_ms, std::int64_t margin_ms) const {
    std::set<std::string> lent;
    const std::lock_guard lock(mutex_);
    for (auto it = entries_.lower_bound(prefix);
         it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        if (it->second.expires_ms <= now_ms + margin_ms) continue;
        into.put(it->first, it->second.value, 0, now_ms);  // day end 0: long settled
        lent.insert(it->first);
    }
    return lent;
}

bool closed_days::keep(const std::string& key, json::value value, std::int64_t now_ms) {
    if (!enabled()) return false;
    auto posts = ranked(value);
    const std::lock_guard lock(mutex_);
    if (now_ms < hold_all_until_ms_) return false;
    for (auto it = deleted_.begin(); it != deleted_.end();)  // holds that ended
        it = it->second <= now_ms ? deleted_.erase(it) : std::next(it);
    for (const auto& p : posts)
        if (deleted_.contains(p)) return false;  // the answer may predate its deletion
    if (entries_.size() >= options_.max_entries && !entries_.contains(key))
        entries_.clear();  // rare: many zones
    entries_[key] = entry{now_ms + options_.ttl_ms, std::move(value), std::move(posts)};
    return true;
}

std::size_t closed_days::forget_post(const std::string& post_id, std::int64_t now_ms) {
    const std::lock_guard lock(mutex_);
    auto& until = deleted_[post_id];
    until = std::max(until, now_ms + options_.hold_ms);
    std::size_t dropped = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const auto& posts = it->second.posts;
        if (std::find(posts.begin(), posts.end(), post_id) != posts.end()) {
            it = entries_.erase(it);
            ++dropped;
        } else {
            ++it;
        }
    }
    return dropped;
}

void closed_days::forget_all(std::int64_t now_ms) {
    const std::lock_guard lock(mutex_);
    entries_.clear();
    hold_all_until_ms_ = std::max(hold_all_until_ms_, now_ms + options_.hold_ms);
}

std::size_t closed_days::size() const {
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

bool closed_days::holds(const std::string& key, std::int64_t now_ms) const {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    return it != entries_.end() && it->second.expires_ms > now_ms;
}

}  // namespace bsocial::analytics
