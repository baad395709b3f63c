#pragma once
// serve's cache of q2's closed days (docs/analytics.md, "Closed days"): per zone and calendar
// day that is over, the day's ranking as the search engine answered it (the per_day bucket
// that telemetry::run_analytics reads: "top_posts" of {"key": post id, "doc_count"}), kept
// `ttl_ms`. Exact under deletions without emptying everything:
// - a deletion of post P, or of one of P's comments, can change only the days whose ranking
//   holds P (a post that is not among a day's top 10 stays out of it with fewer comments, and
//   removing it moves nobody else): forget_post drops those days and no other;
// - the search engine learns of a deletion a moment after the bus (Kafka, telemetry): for
//   `hold_ms` after it, an answer that ranks P is not kept (it may predate the deletion);
// - a reconnect of the bus (messages may have been missed) empties it all and keeps nothing
//   for `hold_ms`.
// Thread-safe. It lends its entries to telemetry::run_analytics through a
// telemetry::day_cache made for one run (lend), and takes the days that run asked (keep).

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bsocial/telemetry/analytics.hpp"

namespace bsocial::analytics {

class closed_days {
  public:
    struct options {
        std::int64_t ttl_ms = 300'000;
        std::int64_t hold_ms = 30'000;
        std::size_t max_entries = 10'000;
    };
    explicit closed_days(options o) : options_(o) {}

    bool enabled() const { return options_.ttl_ms > 0; }
    std::int64_t ttl_ms() const { return options_.ttl_ms; }

    /// telemetry's key of a day (q2_run): "q2|<entities index>|<tz>|" + "YYYY-MM-DD".
    static std::string prefix(const std::string& entities_index, const std::string& tz);

    /// Puts into `into` (a day_cache for one run of run_analytics) every entry of `prefix`
    /// that is still good at `now_ms` + `margin_ms`; returns their keys.
    std::set<std::string> lend(telemetry::day_cache& into, const std::string& prefix,
                               std::int64_t now_ms, std::int64_t margin_ms = 0) const;

    /// Keeps `value` (a day's bucket) under `key` until now + ttl, unless a hold is on for
    /// it: a post it ranks was deleted less than hold_ms ago, or the bus reconnected less
    /// than hold_ms ago. Returns whether it was kept.
    bool keep(const std::string& key, boost::json::value value, std::int64_t now_ms);

    /// A deletion of post `post_id` or of one of its comments: drops the days that rank it
    /// (and holds it for hold_ms). Returns how many were dropped.
    std::size_t forget_post(const std::string& post_id, std::int64_t now_ms);
    /// The bus reconnected: everything goes, nothing is kept for hold_ms.
    void forget_all(std::int64_t now_ms);

    std::size_t size() const;
    bool holds(const std::string& key, std::int64_t now_ms) const;

    /// The post ids a day's bucket ranks (its top_posts' keys, as strings).
    static std::vector<std::string> ranked(const boost::json::value& bucket);

  private:
    struct entry {
        std::int64_t expires_ms = 0;
        boost::json::value value;
        std::vector<std::string> posts;
    };
    options options_;
    mutable std::mutex mutex_;
    std::map<std::string, entry> entries_;
    std::map<std::string, std::int64_t> deleted_;  ///< post id -> end of its hold
    std::int64_t hold_all_until_ms_ = 0;
};

}  // namespace bsocial::analytics
