#pragma once
// Every SQL statement of the outbox module, in one place (run by outbox.cpp), with the
// one column list of `outbox` rows read into outbox_row (row.hpp), in its order.

namespace bsocial::outbox {

#define BSOCIAL_OUTBOX_COLUMNS "id, event_id, topic, event_key, event_type, payload, created_at"

inline constexpr const char* insert_outbox_sql =
    "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
    " VALUES (:event_id, :topic, :event_key, :event_type, :payload, :created_at)";
/// Unsent rows, counted up to a bound (the partial index outbox_unsent): cheap enough for
/// every /readyz call whatever the backlog.
inline constexpr const char* bounded_backlog_sql =
    "SELECT COUNT(*) FROM (SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id"
    " LIMIT :bound) unsent";
inline constexpr const char* backlog_sql =
    "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL";
/// Unsent rows nobody holds a live claim on, in id order. PostgreSQL adds FOR UPDATE SKIP
/// LOCKED: relays claiming at the same moment take different rows.
#define BSOCIAL_OUTBOX_CLAIMABLE                                                      \
    "SELECT " BSOCIAL_OUTBOX_COLUMNS                                                  \
    " FROM outbox WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < :now)" \
    " ORDER BY id LIMIT :limit"
inline constexpr const char* fetch_claimable_sql = BSOCIAL_OUTBOX_CLAIMABLE;
inline constexpr const char* fetch_claimable_locked_sql =
    BSOCIAL_OUTBOX_CLAIMABLE " FOR UPDATE SKIP LOCKED";
inline constexpr const char* claim_sql =
    "UPDATE outbox SET claimed_until = :until WHERE id = :id";
inline constexpr const char* mark_sent_sql =
    "UPDATE outbox SET sent_at = :sent_at, claimed_until = NULL WHERE id = :id";
/// A row the broker did not acknowledge: free for the next try at once.
inline constexpr const char* release_claim_sql =
    "UPDATE outbox SET claimed_until = NULL WHERE id = :id AND sent_at IS NULL";
inline constexpr const char* count_sent_before_sql =
    "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :cutoff";
inline constexpr const char* delete_sent_before_sql =
    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < :cutoff";

}  // namespace bsocial::outbox
