#include "bsocial/social/timeline_cache.hpp"

#include <algorithm>

#include "bsocial/core/prometheus.hpp"

namespace bsocial::social {

namespace {
timeline_key key_of(const time_cursor& c) { return {c.created_at, c.id}; }
time_cursor cursor_of(const timeline_key& k) { return {k.created_at, k.id}; }
}  // namespace

timeline_cache::timeline_cache(int capacity, std::size_t max_users)
    : capacity_(std::max(capacity, 1)), timelines_(max_users) {}

std::optional<cached_page> timeline_cache::read(std::int64_t user, time_cursor from, int fetch) {
    std::lock_guard lock(mutex_);
    timeline* found = timelines_.peek(user);
    if (!found || found->building) return std::nullopt;
    timeline& t = *timelines_.find(user);
    ++hits_;
    cached_page page;
    page.generation = t.generation;
    const timeline_key before = key_of(from);
    // Entries strictly older than the cursor end at `it`; the page is the last `fetch`.
    auto it = std::lower_bound(t.entries.begin(), t.entries.end(), before);
    while (it != t.entries.begin() && static_cast<int>(page.entries.size()) < fetch)
        page.entries.push_back(*--it);
    if (static_cast<int>(page.entries.size()) < fetch && t.floor)
        page.continue_from = before < *t.floor ? from : cursor_of(*t.floor);
    return page;
}

std::uint64_t timeline_cache::begin_build(std::int64_t user) {
    std::lock_guard lock(mutex_);
    if (timelines_.contains(user)) return 0;
    timeline& t = *timelines_
                       .try_emplace_evicting(
                           [this](std::int64_t victim_user, const timeline& victim) {
                               unindex(victim_user, victim);
                               ++evictions_;
                           },
                           user)
                       .first;
    t.building = true;
    t.generation = next_generation_++;
    ++builds_;
    built_.notify_all();  // a timeline being built may have been evicted
    return t.generation;
}

bool timeline_cache::wait_built(std::int64_t user, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    const auto done = [&] {
        const timeline* t = timelines_.peek(user);
        return !t || !t->building;
    };
    if (done()) return true;
    ++waits_;
    return built_.wait_for(lock, limit, done);
}

void timeline_cache::finish_build(std::int64_t user, std::uint64_t generation,
                                  const std::vector<timeline_key>& newest_first, bool complete) {
    std::lock_guard lock(mutex_);
    timeline* found = timelines_.peek(user);
    if (!found || found->generation != generation || !found->building) return;
    timeline& t = *found;
    const std::size_t keep = std::min(newest_first.size(), static_cast<std::size_t>(capacity_));
    t.entries.assign(newest_first.rbegin() + static_cast<std::ptrdiff_t>(newest_first.size() - keep),
                     newest_first.rend());
    if (keep < newest_first.size()) complete = false;
    if (!complete && !t.entries.empty()) t.floor = t.entries.front();
    // Nothing found and more may exist cannot happen (the read stops only when full or at
    // the end), but stay correct if it did: treat the whole feed as below the floor.
    if (!complete && t.entries.empty()) t.floor = timeline_key{INT64_MAX, INT64_MAX};
    entries_ += t.entries.size();
    t.building = false;
    for (const timeline_key& post : t.arrived) insert(t, post);
    t.arrived.clear();
    t.arrived.shrink_to_fit();
    built_.notify_all();
}

void timeline_cache::extend(std::int64_t user, const cached_page& page,
                            const std::vector<timeline_key>& newest_first, bool complete) {
    std::lock_guard lock(mutex_);
    timeline* found = timelines_.peek(user);
    if (!found) return;
    timeline& t = *found;
    if (t.building || t.generation != page.generation || !t.floor || !page.continue_from ||
        !(key_of(*page.continue_from) == *t.floor))
        return;  // changed since, or not contiguous with the cached entries
    const std::size_t room = max_entries() - std::min(t.entries.size(), max_entries());
    const std::size_t take = std::min(room, newest_first.size());
    if (take == 0) return;
    // newest_first[0 .. take) are older than every entry: they go first, oldest first.
    t.entries.insert(t.entries.begin(), newest_first.rend() - static_cast<std::ptrdiff_t>(take),
                     newest_first.rend());
    entries_ += take;
    if (complete && take == newest_first.size())
        t.floor.reset();
    else
        t.floor = t.entries.front();
}

void timeline_cache::insert(timeline& t, timeline_key post) {
    if (t.floor && post < *t.floor) return;  // below the cached part: read from the posts
    if (t.entries.empty() || t.entries.back() < post) {
        t.entries.push_back(post);  // the usual case: the newest post
    } else {
        const auto at = std::lower_bound(t.entries.begin(), t.entries.end(), post);
        if (at != t.entries.end() && *at == post) return;
        t.entries.insert(at, post);
    }
    ++entries_;
    trim(t);
}

std::size_t timeline_cache::max_entries() const noexcept {
    const std::size_t cap = static_cast<std::size_t>(capacity_);
    return cap + std::max<std::size_t>(cap / 8, 1);
}

void timeline_cache::trim(timeline& t) {
    // Back to the capacity once beyond max_entries(): a full timeline is not shifted for
    // every new post.
    if (t.entries.size() <= max_entries()) return;
    const std::size_t drop = t.entries.size() - static_cast<std::size_t>(capacity_);
    t.entries.erase(t.entries.begin(), t.entries.begin() + static_cast<std::ptrdiff_t>(drop));
    entries_ -= drop;
    t.floor = t.entries.front();
}

void timeline_cache::add(const std::vector<std::int64_t>& users, timeline_key post) {
    std::lock_guard lock(mutex_);
    for (const std::int64_t user : users) add_locked(user, post);
}

void timeline_cache::add_locked(std::int64_t user, timeline_key post) {
    timeline* found = timelines_.peek(user);
    if (!found) return;  // not cached: built from the posts later
    if (found->building)
        found->arrived.push_back(post);
    else
        insert(*found, post);
}

void timeline_cache::unindex(std::int64_t user, const timeline& t) {
    entries_ -= t.entries.size();
    for (const std::int64_t author : t.followees) {
        const auto it = readers_.find(author);
        if (it == readers_.end()) continue;
        auto& readers = it->second;
        const auto at = std::find(readers.begin(), readers.end(), user);
        if (at != readers.end()) {
            *at = readers.back();
            readers.pop_back();
        }
        if (readers.empty()) readers_.erase(it);
    }
}

void timeline_cache::remove(timeline_key post) {
    std::lock_guard lock(mutex_);
    timelines_.visit_erasing([&](std::int64_t user, timeline& t) {
        if (t.building) {  // forgotten: its build may have read the post
            unindex(user, t);
            return true;
        }
        t.generation = next_generation_++;
        const auto at = std::lower_bound(t.entries.begin(), t.entries.end(), post);
        if (at != t.entries.end() && *at == post) {
            t.entries.erase(at);
            --entries_;
        }
        return false;
    });
    built_.notify_all();
}

void timeline_cache::forget_locked(std::int64_t user) {
    const timeline* found = timelines_.peek(user);
    if (!found) return;
    unindex(user, *found);
    timelines_.erase(user);
    built_.notify_all();
}

void timeline_cache::forget(std::int64_t user) {
    std::lock_guard lock(mutex_);
    forget_locked(user);
}

bool timeline_cache::index_followees(std::int64_t user, std::uint64_t generation,
                                     std::vector<std::int64_t> followees) {
    std::lock_guard lock(mutex_);
    timeline* found = timelines_.peek(user);
    if (!found || found->generation != generation || !found->building) return false;
    std::sort(followees.begin(), followees.end());
    followees.erase(std::unique(followees.begin(), followees.end()), followees.end());
    for (const std::int64_t author : followees)
        if (author != user) readers_[author].push_back(user);
    std::erase(followees, user);
    found->followees = std::move(followees);
    found->followees.shrink_to_fit();
    return true;
}

std::optional<bool> timeline_cache::follows(std::int64_t user, std::int64_t author) {
    std::lock_guard lock(mutex_);
    const timeline* found = timelines_.peek(user);
    if (!found || found->building) return std::nullopt;
    return std::binary_search(found->followees.begin(), found->followees.end(), author);
}

void timeline_cache::add_by_author(std::int64_t author, timeline_key post) {
    std::lock_guard lock(mutex_);
    add_locked(author, post);
    if (const auto it = readers_.find(author); it != readers_.end())
        for (const std::int64_t user : it->second) add_locked(user, post);
}

void timeline_cache::forget_readers_of(std::int64_t author) {
    std::lock_guard lock(mutex_);
    forget_locked(author);
    if (const auto it = readers_.find(author); it != readers_.end()) {
        const std::vector<std::int64_t> readers = it->second;  // forget_locked edits it
        for (const std::int64_t user : readers) forget_locked(user);
    }
}

void timeline_cache::clear() {
    std::lock_guard lock(mutex_);
    timelines_.clear();
    readers_.clear();
    entries_ = 0;
    built_.notify_all();
}

timeline_cache_stats timeline_cache::stats() const {
    std::lock_guard lock(mutex_);
    return {timelines_.size(), entries_, hits_, builds_, evictions_, waits_};
}

std::string timeline_cache::metrics() const {
    const auto s = stats();
    return prometheus_metric("bsocial_feed_cache_users", "gauge",
                             "Home timelines held in memory.",
                             static_cast<double>(s.users)) +
           prometheus_metric("bsocial_feed_cache_entries", "gauge",
                             "Posts held in the in-memory home timelines.",
                             static_cast<double>(s.entries)) +
           prometheus_metric("bsocial_feed_cache_builds_total", "counter",
                             "Home timelines built from the posts (first read, after a follow).",
                             static_cast<double>(s.builds)) +
           prometheus_metric("bsocial_feed_cache_evictions_total", "counter",
                             "Home timelines dropped to stay within BSOCIAL_FEED_CACHE_USERS.",
                             static_cast<double>(s.evictions)) +
           prometheus_metric("bsocial_feed_cache_build_waits_total", "counter",
                             "Feed reads that waited for a build of the same timeline under "
                             "way (a login's warming or another read) instead of reading twice.",
                             static_cast<double>(s.waits));
}

}  // namespace bsocial::social
