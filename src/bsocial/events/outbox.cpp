#include "bsocial/events/outbox.hpp"

#include <soci/soci.h>

namespace bsocial::events {

namespace {
constexpr const char* insert_outbox_sql =
    "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
    " VALUES (:event_id, :topic, :event_key, :event_type, :payload, :created_at)";
constexpr const char* backlog_sql =
    "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL";
}  // namespace

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
