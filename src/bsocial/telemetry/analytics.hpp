#pragma once
// The three stored queries as clean rows: THE function behind `bsocial query q1|q2|q3
// --json` (and its table) and behind the API's /api/v1/analytics/* (src/bsocial/analytics),
// so both answer the same JSON for the same arguments. The ranking comes from the search
// engine; the posts' details (author, excerpt, all-time comment count) from a post_lookup
// the caller supplies (SQL, wired in src/apps): telemetry itself knows no SQL.
//
// Shapes (docs/openapi.yaml, schemas AnalyticsLogins, AnalyticsTopPosts, AnalyticsExtremes):
//   q1 {"tz", "days": [{"day": "YYYY-MM-DD", "logged_in_users": n}, ...]}   every day, in order
//   q2 {"tz", "days": [{"day", "posts": [{"rank", "post_id", "comments", "author",
//        "excerpt", "comment_count"}, ...]}, ...]}   "comments" = that day's, top 10 per day
//   q3 {"user_id", "username", "best": post|null, "worst": post|null}, post = {"post_id",
//        "comments", "created_at", "author", "excerpt", "comment_count"}
// author/excerpt/comment_count are null for a post the lookup does not know.

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::telemetry {

/// What SQL knows of a post.
struct post_details {
    std::string author;              ///< username
    std::string excerpt;             ///< the start of its content
    std::int64_t comment_count = 0;  ///< all its comments, all time
};

/// Post id -> details, for the ids it knows (the others are left out).
using post_lookup =
    std::function<std::map<std::string, post_details>(const std::vector<std::string>& ids)>;

/// The search engine answered, but refused the query (HTTP status other than 200): a
/// missing index, a mapping or engine that does not fit the stored query.
class query_refused : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// q3 by username: no event of that user is indexed.
class unknown_user : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// q2's answers for days that are over, kept between requests (serve has one; docs/analytics.md,
/// "Closed days"): a day's ranking, deleted posts and comments left out, as computed at
/// some moment. Exact while nothing of that day changes: a day is stored only from
/// `settle_ms` after its end (the events' usual lag is ~1 s), an answer is forgotten after
/// `ttl_ms` (bounds what late events of a day, e.g. telemetry catching up, may miss), and
/// a deletion (the bus's post.deleted / comment.deleted) empties it and keeps nothing new
/// for `hold_ms` (the search engine learns of the deletion through Kafka a moment later).
/// Thread-safe.
class day_cache {
  public:
    struct options {
        std::int64_t ttl_ms = 300'000;
        std::int64_t settle_ms = 60'000;
        std::int64_t hold_ms = 30'000;
        std::size_t max_entries = 10'000;
    };
    explicit day_cache(options o) : options_(o) {}
    std::optional<boost::json::value> get(const std::string& key, std::int64_t now_ms);
    /// Stores `value` for the day ending at `day_end_ms`, if that day is settled and no
    /// deletion hold is on.
    void put(const std::string& key, boost::json::value value, std::int64_t day_end_ms,
             std::int64_t now_ms);
    void invalidate(std::int64_t now_ms);
    std::size_t size() const;
    std::size_t hits() const;

  private:
    struct entry {
        std::int64_t expires_ms;
        boost::json::value value;
    };
    options options_;
    mutable std::mutex mutex_;
    std::map<std::string, entry> entries_;
    std::int64_t hold_until_ms_ = 0;
    std::size_t hits_ = 0;
};

/// Runs stored query config.name (config validated by the caller) and returns its rows.
/// Throws es_unreachable, es_config_error, query_refused, unknown_user, or
/// std::runtime_error for a response without the expected aggregations. `cache`
/// (optional): q2's closed days are taken from it and stored in it.
boost::json::object run_analytics(es_client& es, const query_config& config,
                                  const post_lookup& lookup, day_cache* cache = nullptr);

/// The rows of search response `response` of query `name` (the pure half of
/// run_analytics). `user_id`/`username` only for q3 (username may be empty: null).
boost::json::object analytics_rows(std::string_view name, std::string_view response,
                                   const query_config& config, const post_lookup& lookup,
                                   const std::string& user_id = {});

/// A calendar day [start_ms, end_ms) of some zone on the login-day documents
/// (document.hpp): its users are those of UTC day `utc_day` (the day of its end) with
/// b<end_slot> or a<start_slot>. Nothing when the day's bounds are not on half hours of
/// UTC or the day reaches further back than the UTC day before (then q1 reads the events).
struct login_day_split {
    std::string utc_day;  ///< YYYY-MM-DD
    int start_slot = 0;   ///< 0..48 (48: nothing of the UTC day before)
    int end_slot = 0;     ///< 1..48
};
std::optional<login_day_split> split_local_day(std::int64_t start_ms, std::int64_t end_ms);

/// q1 on the events (the fallback) is paged (a `composite` of (day, user) buckets, docs/telemetry.md): the first page's
/// response with, in each per_day bucket, "users": {"value": the distinct users counted}.
boost::json::value q1_merge(boost::json::value first,
                            const std::map<std::string, std::int64_t>& users);

/// q3 is paged (a `composite` over the user's posts): each bucket goes through add(), and
/// response() is the answer in the shape of one search response whose top_post and
/// worst_post hold the best and worst post (or nothing), as analytics_rows reads it.
class q3_ranking {
  public:
    /// One composite bucket {"key": {"post": id}, "post": {"doc_count", "created"},
    /// "comments": {"doc_count"}}; a bucket without a live post is ignored.
    void add(const boost::json::object& bucket);
    boost::json::value response() const;

  private:
    struct candidate {
        std::int64_t comments = 0;
        double created = 0;  ///< epoch ms of the post's creation
        std::int64_t number = 0;
        boost::json::object bucket;
    };
    std::optional<candidate> best_, worst_;
};

/// Human-readable table of analytics_rows' result for query `name`.
std::string render_table(std::string_view name, const boost::json::object& rows);

}  // namespace bsocial::telemetry
