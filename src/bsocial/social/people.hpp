#pragma once
// Finding people (issue 28): search by username, first or last name (folded keys,
// search_keys.hpp, on the index of user_search_keys), who to follow (suggestions), which
// of a list the caller follows (the follow buttons of every list of people) and a user's
// post count. Blocking (SQL): blocking-work pool only. Thread-safe; lives as long as the
// serve process.
//
// Suggestions, bounded whatever the graph (docs/people.md):
// - the caller's followees, at most max_followees_read, read from the follows primary key;
// - of those, at most max_followees_sampled (evenly spread), and of each of them at most
//   max_followees_each of their followees (a LIMIT on each primary-key range);
// - candidates ranked by how many sampled followees follow them, then by id; yourself and
//   those you follow left out;
// - topped up (a new user: only) from the popular authors: the authors of the newest
//   max_recent_posts posts (posts_by_time), ranked by followers counted up to
//   max_followers_counted each (follows_by_followee), believed for popular_ttl per process.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace soci {
class session;
}

namespace bsocial::social {

/// Writes the search keys of a new account, in the caller's transaction (registration).
void write_search_keys(soci::session& sql, const user& u);

/// The accounts without keys yet (id above search_keys_backfill.done_up_to: those that
/// existed before migration 10, or were loaded straight into the database), in batches of
/// `batch`; returns how many accounts it read. Run at start; idempotent; several instances
/// starting together are harmless (ON CONFLICT DO NOTHING, and the marker only grows).
std::int64_t backfill_search_keys(store::database& db, int batch = 2000);

/// One suggestion: the user, and how many of the caller's (sampled) followees follow
/// them (0 for a popular author).
struct suggestion {
    user who;
    std::int64_t followed_by = 0;
    enum class reason { followed_by_your_follows, popular } why = reason::popular;
};

struct suggestion_bounds {
    int max_followees_read = 5000;
    int max_followees_sampled = 50;
    int max_followees_each = 200;
    int max_recent_posts = 1000;
    int max_followers_counted = 10000;
    int popular_kept = 100;
    std::chrono::milliseconds popular_ttl{60000};
};

class people {
  public:
    people(store::database& db, const clock& clock, suggestion_bounds bounds = {});

    /// Users any of whose keys starts with each folded token of `text` (up to 3 tokens; the
    /// longest reads the index range, the others are checked per hit), ordered by the
    /// matching key, then id; each user once. Empty `text`: everyone by username (as
    /// before issue 28). Throws error{validation_failed} for a cursor of the other kind.
    page<user> search(const std::string& text, const page_request& req);

    /// Up to `limit` (1..50) people for `me` to follow.
    std::vector<suggestion> suggestions(const user& me, int limit);

    /// Of `ids`, those `me` follows (one primary-key lookup each; a page is at most 100).
    std::set<std::int64_t> followed_among(std::int64_t me, const std::vector<std::int64_t>& ids);

    /// How many posts `user_id` wrote (a count on posts_by_user_time).
    std::int64_t post_count(std::int64_t user_id);

  private:
    std::vector<std::pair<std::int64_t, std::int64_t>> popular_authors();  ///< (id, followers)

    store::database& db_;
    const clock& clock_;
    suggestion_bounds bounds_;
    std::mutex mutex_;
    std::vector<std::pair<std::int64_t, std::int64_t>> popular_;  ///< guarded by mutex_
    std::optional<std::chrono::steady_clock::time_point> popular_at_;  ///< guarded by mutex_
};

}  // namespace bsocial::social
