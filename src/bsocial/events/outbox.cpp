#include "bsocial/events/outbox.hpp"

#include <soci/soci.h>

namespace bsocial::events {

namespace {
constexpr const char* insert_outbox_sql =
    "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
    " VALUES (:event_id, :topic, :event_key, :event_type, :payload, :created_at)";
constexpr const char* backlog_sql =
    "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL";
constexpr const char* fetch_unsent_sql =
    "SELECT id, event_id, topic, event_key, event_type, payload, created_at FROM outbox"
    " WHERE sent_at IS NULL ORDER BY id LIMIT :limit";
constexpr const char* fetch_unsent_locked_sql =
    "SELECT id, event_id, topic, event_key, event_type, payload, created_at FROM outbox"
    " WHERE sent_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED";
constexpr const char* mark_sent_sql = "UPDATE outbox SET sent_at = :sent_at WHERE id = :id";
constexpr const char* count_sent_before_sql =
    "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :cutoff";
constexpr const char* delete_sent_before_sql =
    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :cutoff";
}  // namespace

std::vector<outbox_row> fetch_unsent(soci::session& sql, int limit, bool lock_rows) {
    std::vector<outbox_row> rows;
    outbox_row row;
    soci::statement st = (sql.prepare << (lock_rows ? fetch_unsent_locked_sql : fetch_unsent_sql),
                          soci::into(row.id), soci::into(row.event_id), soci::into(row.topic),
                          soci::into(row.key), soci::into(row.type), soci::into(row.payload),
                          soci::into(row.created_at_ms), soci::use(limit));
    st.execute();
    while (st.fetch()) rows.push_back(row);
    return rows;
}

std::int64_t delete_sent_before(soci::session& sql, std::int64_t cutoff_ms) {
    // Counted first: SOCI 4.0.3's affected-row count is unreliable on SQLite.
    std::int64_t n = 0;
    sql << count_sent_before_sql, soci::into(n), soci::use(cutoff_ms);
    if (n > 0) sql << delete_sent_before_sql, soci::use(cutoff_ms);
    return n;
}

void mark_sent(soci::session& sql, const std::vector<std::int64_t>& ids, std::int64_t sent_at_ms) {
    std::int64_t id = 0;
    soci::statement st = (sql.prepare << mark_sent_sql, soci::use(sent_at_ms), soci::use(id));
    for (const std::int64_t each : ids) {
        id = each;
        st.execute(true);
    }
}

void append_to_outbox(soci::session& sql, const event& e) {
    const std::string payload = envelope_json(e);
    const std::int64_t created_at = e.occurred_at_ms;
    sql << insert_outbox_sql, soci::use(e.id), soci::use(e.topic), soci::use(e.key),
        soci::use(e.type), soci::use(payload), soci::use(created_at);
}

outbox_backlog read_backlog(soci::session& sql) {
    outbox_backlog b;
    std::int64_t oldest = 0;
    soci::indicator oldest_ind = soci::i_null;
    sql << backlog_sql, soci::into(b.unsent), soci::into(oldest, oldest_ind);
    if (oldest_ind == soci::i_ok) b.oldest_unsent_ms = oldest;
    return b;
}

}  // namespace bsocial::events
