#include "bsocial/social/comment_cache.hpp"

#include <algorithm>

#include "bsocial/core/prometheus.hpp"

namespace bsocial::social {

namespace {
/// Lists longer than this are read from SQL: a page is 20 by default, and a post with
/// hundreds of comments is rare and read a page at a time.
constexpr std::size_t longest_list_kept = 256;

bool after(const comment& c, time_cursor from) {
    return c.created_at != from.created_at ? c.created_at > from.created_at : c.id > from.id;
}
bool before(const comment& c, time_cursor from) {
    return c.created_at != from.created_at ? c.created_at < from.created_at : c.id < from.id;
}
std::size_t weight(std::size_t comments) { return std::max<std::size_t>(comments, 1); }
}  // namespace

comment_cache::comment_cache(std::size_t max_comments)
    : max_comments_(std::max<std::size_t>(max_comments, 1)),
      max_per_post_(std::min(longest_list_kept, max_comments_)) {}

std::uint64_t comment_cache::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

std::vector<comment> comment_cache::slice_of(const std::vector<comment>& all, time_cursor from,
                                             int fetch, bool newest_first) {
    std::vector<comment> out;
    if (fetch <= 0) return out;
    if (!newest_first) {
        // ORDER BY created_at, id WHERE (created_at, id) > from
        auto it = std::find_if(all.begin(), all.end(), [&](const comment& c) { return after(c, from); });
        for (; it != all.end() && static_cast<int>(out.size()) < fetch; ++it) out.push_back(*it);
    } else {
        // ORDER BY created_at DESC, id DESC WHERE (created_at, id) < from
        auto it = std::find_if(all.rbegin(), all.rend(), [&](const comment& c) { return before(c, from); });
        for (; it != all.rend() && static_cast<int>(out.size()) < fetch; ++it) out.push_back(*it);
    }
    return out;
}

std::optional<comment_cache::slice> comment_cache::read(std::int64_t post_id, time_cursor from,
                                                        int fetch, bool newest_first) {
    std::lock_guard lock(mutex_);
    const auto it = posts_.find(post_id);
    if (it == posts_.end() || it->second.too_long) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return slice{it->second.post_author_id, slice_of(it->second.comments, from, fetch, newest_first)};
}

bool comment_cache::too_long(std::int64_t post_id) const {
    std::lock_guard lock(mutex_);
    const auto it = posts_.find(post_id);
    return it != posts_.end() && it->second.too_long;
}

void comment_cache::erase_locked(std::unordered_map<std::int64_t, entry>::iterator it) {
    held_ -= weight(it->second.comments.size());
    lru_.erase(it->second.lru);
    posts_.erase(it);
}

void comment_cache::put(std::int64_t post_id, std::int64_t post_author_id,
                        std::vector<comment> all, std::uint64_t epoch) {
    const bool is_too_long = all.size() > max_per_post_;
    if (is_too_long) all.clear();
    all.shrink_to_fit();
    std::lock_guard lock(mutex_);
    if (epoch != epoch_) return;  // a comment may have come or gone since the read
    if (const auto it = posts_.find(post_id); it != posts_.end()) erase_locked(it);
    const std::size_t w = weight(all.size());
    while (!lru_.empty() && held_ + w > max_comments_) erase_locked(posts_.find(lru_.back()));
    lru_.push_front(post_id);
    held_ += w;
    posts_.emplace(post_id, entry{post_author_id, is_too_long, std::move(all), lru_.begin()});
}

void comment_cache::drop(std::int64_t post_id) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    if (const auto it = posts_.find(post_id); it != posts_.end()) erase_locked(it);
}

void comment_cache::clear() {
    std::lock_guard lock(mutex_);
    ++epoch_;
    posts_.clear();
    lru_.clear();
    held_ = 0;
}

std::string comment_cache::metrics() const {
    std::size_t posts = 0, held = 0;
    {
        std::lock_guard lock(mutex_);
        posts = posts_.size();
        held = held_;
    }
    return prometheus_metric("bsocial_comment_cache_posts", "gauge",
                             "Posts whose comment list is held in memory.",
                             static_cast<double>(posts)) +
           prometheus_metric("bsocial_comment_cache_comments", "gauge",
                             "Comments held in memory (an empty list counts 1).",
                             static_cast<double>(held)) +
           prometheus_metric("bsocial_comment_cache_hits_total", "counter",
                             "Comment pages answered from memory.",
                             static_cast<double>(hits_.load(std::memory_order_relaxed))) +
           prometheus_metric("bsocial_comment_cache_misses_total", "counter",
                             "Comment lists read from SQL.",
                             static_cast<double>(misses_.load(std::memory_order_relaxed)));
}

}  // namespace bsocial::social
