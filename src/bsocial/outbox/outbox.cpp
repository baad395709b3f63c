#include "bsocial/outbox/outbox.hpp"

#include <soci/soci.h>

#include "bsocial/core/prometheus.hpp"
#include "bsocial/outbox/sql.hpp"

namespace bsocial::outbox {

std::vector<outbox_row> claim_unsent(soci::session& sql, int limit, bool lock_rows,
                                     std::int64_t now_ms, std::int64_t until_ms) {
    std::vector<outbox_row> rows;
    outbox_row row;
    soci::statement st =
        (sql.prepare << (lock_rows ? fetch_claimable_locked_sql : fetch_claimable_sql),
         soci::into(row.id), soci::into(row.event_id), soci::into(row.topic), soci::into(row.key),
         soci::into(row.type), soci::into(row.payload), soci::into(row.created_at_ms),
         soci::use(now_ms), soci::use(limit));
    st.execute();
    while (st.fetch()) rows.push_back(row);
    if (rows.empty()) return rows;
    std::int64_t id = 0;
    soci::statement claim = (sql.prepare << claim_sql, soci::use(until_ms), soci::use(id));
    for (const auto& r : rows) {
        id = r.id;
        claim.execute(true);
    }
    return rows;
}

bool any_claimable(soci::session& sql, std::int64_t now_ms) {
    int n = 0;
    sql << any_claimable_sql, soci::into(n), soci::use(now_ms);
    return n > 0;
}

void release_claims(soci::session& sql, const std::vector<std::int64_t>& ids) {
    std::int64_t id = 0;
    soci::statement st = (sql.prepare << release_claim_sql, soci::use(id));
    for (const std::int64_t each : ids) {
        id = each;
        st.execute(true);
    }
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

void append_to_outbox(soci::session& sql, const events::event& e) {
    const std::string payload = events::envelope_json(e);
    const std::int64_t created_at = e.occurred_at_ms;
    sql << insert_outbox_sql, soci::use(e.id), soci::use(e.topic), soci::use(e.key),
        soci::use(e.type), soci::use(payload), soci::use(created_at);
}

void append_to_outbox(store::statement_cache& statements, soci::session& sql,
                      const events::event& e) {
    statements.execute(sql, insert_outbox_sql,
                       {e.id, e.topic, e.key, e.type, events::envelope_json(e), e.occurred_at_ms});
}

std::int64_t count_unsent_up_to(soci::session& sql, std::int64_t bound) {
    std::int64_t n = 0;
    sql << bounded_backlog_sql, soci::into(n), soci::use(bound);
    return n;
}

outbox_backlog read_backlog(soci::session& sql) {
    outbox_backlog b;
    std::int64_t oldest = 0;
    soci::indicator oldest_ind = soci::i_null;
    sql << backlog_sql, soci::into(b.unsent), soci::into(oldest, oldest_ind);
    if (oldest_ind == soci::i_ok) b.oldest_unsent_ms = oldest;
    return b;
}

std::string backlog_metrics(const outbox_backlog& backlog, std::int64_t now_ms) {
    const double age = backlog.oldest_unsent_ms
                           ? static_cast<double>(now_ms - *backlog.oldest_unsent_ms) / 1000.0
                           : 0.0;
    return prometheus_metric("bsocial_outbox_backlog", "gauge",
                             "Outbox events not yet published to Kafka.",
                             static_cast<double>(backlog.unsent)) +
           prometheus_metric("bsocial_outbox_oldest_unsent_age_seconds", "gauge",
                             "Age of the oldest unpublished event.", age);
}

}  // namespace bsocial::outbox
