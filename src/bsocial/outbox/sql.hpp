#pragma once
// Every SQL statement of the outbox module, in one place (run by outbox.cpp), with the
// one column list of `outbox` rows read into outbox_row (row.hpp), in its order.

namespace bsocial::outbox {

#define BSOCIAL_OUTBOX_COLUMNS "id, event_id, topic, event_key, event_type, payload, created_at"

inline constexpr const char* insert_outbox_sql =
    "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
    " VALUES (:event_id, :topic, :event_key, :event_type, :payload, :created_at)";
inline constexpr const char* backlog_sql =
    "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL";
inline constexpr const char* fetch_unsent_sql =
    "SELECT " BSOCIAL_OUTBOX_COLUMNS " FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT :limit";
/// PostgreSQL, several relays: rows another relay holds are skipped.
inline constexpr const char* fetch_unsent_locked_sql =
    "SELECT " BSOCIAL_OUTBOX_COLUMNS
    " FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT :limit"
    " FOR UPDATE SKIP LOCKED";
inline constexpr const char* mark_sent_sql = "UPDATE outbox SET sent_at = :sent_at WHERE id = :id";
inline constexpr const char* count_sent_before_sql =
    "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :cutoff";
inline constexpr const char* delete_sent_before_sql =
    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :cutoff";

}  // namespace bsocial::outbox
