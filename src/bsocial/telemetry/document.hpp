#pragma once
// Kafka message -> Elasticsearch document. Pure functions (no I/O), unit-tested.
//
// A valid envelope (docs/events.md) becomes one flat event document: the envelope fields,
// the `data` fields that the queries need copied to the top level with explicit types, the
// whole `data` object kept verbatim (mapped `enabled: false`), and where it came from in
// Kafka. Anything else - not UTF-8, not JSON, not an object, unknown type or version, a
// required field missing - becomes a dead-letter document instead, so one bad message
// never blocks the stream.

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bsocial::telemetry {

/// One consumed Kafka message, copied out of librdkafka's buffers.
struct source_message {
    std::string topic;
    int partition = 0;
    std::int64_t offset = 0;
    std::string key;
    std::string payload;
    bool has_payload = true;  ///< false for a tombstone (null value)
};

/// The flags one or several logins set in one login-day document (see login_slot_ms):
/// b<b_from>..b48 and a0..a<a_to>. The union of two such sets is again one (the smaller
/// b_from, the larger a_to), so any number of logins of one user-day fold into one value.
struct login_day_flags {
    int b_from = 49;  ///< 49: no b flag
    int a_to = -1;    ///< -1: no a flag
    bool empty() const { return b_from > 48 && a_to < 0; }
    /// Every flag of `o` is in this one.
    bool covers(const login_day_flags& o) const { return b_from <= o.b_from && a_to >= o.a_to; }
    void merge(const login_day_flags& o) {
        if (o.b_from < b_from) b_from = o.b_from;
        if (o.a_to > a_to) a_to = o.a_to;
    }
    bool operator==(const login_day_flags&) const = default;
};

/// One item of a _bulk request: `create` (the default; 409 = already there = done),
/// `index` (overwrite: a deletion's entity document, so that "deleted" always wins) or
/// `update` (a login-day document: `source` is {"doc": {...}, "doc_as_upsert": true}, a
/// partial document that only sets fields to true, so applying it twice, or in any order
/// with the others, gives the same document).
struct index_action {
    std::string index;
    std::string id;      ///< event id; for dead letters "topic:partition:offset"
    std::string source;  ///< the document, compact JSON
    bool dead_letter = false;
    std::string reason;  ///< why it is a dead letter (empty for events)
    std::string op = "create";  ///< "create", "index" or "update"
    /// For a login-day `update`: the flags its partial document sets (the indexer folds the
    /// updates of one document in a batch into one and skips those already acknowledged).
    login_day_flags login_day = {};
};

struct index_names {
    /// The events alias: each event goes to the monthly index `<events>-YYYY.MM` of its
    /// occurred_at (UTC), a deterministic name, so a redelivery meets its first copy.
    std::string events;
    std::string dead_letter;
    /// Entity index (docs/telemetry.md): one document per post (`_id` post:<id>) and per
    /// comment (`_id` comment:<id>), written by their creation (`create`) and their
    /// deletion (`index`, deleted: true), so a deletion wins in whatever order the two
    /// events arrive. Empty: no entity documents.
    std::string entities = {};
    /// Login-day documents (q1, docs/telemetry.md): the alias `<logins>` over the monthly
    /// indices `<logins>-YYYY.MM`; one document per user and UTC day. Empty: none.
    std::string logins = {};
};

/// Half-hour slots of a UTC day: the login-day document of user U and UTC day D has
/// `b<k>` = true when U logged in on D before slot k (k = 1..48, so b48 = on D at all) and
/// `a<k>` = true when U logged in on D-1 at or after slot k (k = 0..47). A login at slot s
/// of D sets b<s+1>..b48 in (U, D) and a0..a<s> in (U, D+1). The calendar day [start, end)
/// of any zone whose midnights fall on half hours is then one term per side: the users of
/// the day are the documents of D = the UTC day of end with b<end slot> or a<start slot>,
/// each user one document (docs/telemetry.md, "Login days").
inline constexpr std::int64_t login_slot_ms = 30 * 60 * 1000;
inline constexpr int login_slots = 48;

/// The two login-day updates of a login of `user_id` at `at_ms` (epoch ms):
/// `<logins>-YYYY.MM` of each day, `_id` "<user_id>:<YYYY-MM-DD>".
std::vector<index_action> login_day_actions(std::string_view logins, std::string_view user_id,
                                            std::int64_t at_ms);

/// The `update` source of login-day document `id` ("<user_id>:<YYYY-MM-DD>") setting
/// `flags`: {"doc": {"user_id", "day", flags = true...}, "doc_as_upsert": true}.
std::string login_day_source(std::string_view id, const login_day_flags& flags);

/// Which flags of which login-day documents Elasticsearch has acknowledged to this process
/// (an LRU of `capacity` documents, keyed by `_id`). A login whose flags are all there
/// already would be a `noop` update (a get and a comparison in the engine): the indexer
/// does not send it. Only acknowledged updates are remembered, so a batch that failed, was
/// dropped at a rebalance or is still in flight never hides one; lost at a restart, which
/// only means sending again what is idempotent anyway. forget_all() when login-day indices
/// may have been deleted (retention).
class login_day_memory {
  public:
    explicit login_day_memory(std::size_t capacity = 1 << 18) : capacity_(capacity) {}
    /// The flags of `id` known to be in Elasticsearch (empty when unknown).
    login_day_flags known(const std::string& id);
    void remember(const std::string& id, const login_day_flags& flags);
    void forget_all();
    std::size_t size() const { return by_id_.size(); }

  private:
    using lru = std::list<std::pair<std::string, login_day_flags>>;
    std::size_t capacity_;
    lru order_;  ///< most recently used first
    std::unordered_map<std::string, lru::iterator> by_id_;
};

/// The event document of `msg`, or (when `msg` is poison) its dead-letter document.
/// `now_ms` stamps `ingested_at` / `failed_at`.
index_action to_index_action(const source_message& msg, const index_names& indices,
                             std::int64_t now_ms);

/// `<base>-YYYY.MM`, the month (UTC) of `occurred_at` (RFC 3339 or epoch ms; `now_ms`'s
/// month when it is neither).
std::string event_index(std::string_view base, std::string_view occurred_at, std::int64_t now_ms);

/// Every _bulk item of `msg`: its event (or dead-letter) document, then, for
/// post.created/deleted and comment.created/deleted, the entity document.
std::vector<index_action> to_index_actions(const source_message& msg, const index_names& indices,
                                           std::int64_t now_ms);

/// The dead-letter document for `msg` with the given reason (also used when Elasticsearch
/// itself refuses an event document, e.g. a date it cannot parse).
index_action dead_letter_action(const source_message& msg, std::string_view reason,
                                const index_names& indices, std::int64_t now_ms);

/// `s` with every ill-formed UTF-8 sequence replaced by U+FFFD, so it can go into JSON.
std::string sanitize_utf8(std::string_view s);

}  // namespace bsocial::telemetry
