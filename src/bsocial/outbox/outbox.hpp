#pragma once
// The transactional outbox table: append() runs inside the caller's write transaction,
// so an event exists exactly when the change it reports was committed.

#include <soci/session.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/events/event.hpp"
#include "bsocial/outbox/row.hpp"
#include "bsocial/store/statement_cache.hpp"

namespace bsocial::outbox {

void append_to_outbox(soci::session& sql, const events::event& e);
/// The same with the INSERT prepared once per connection (hot paths: a post, a comment).
void append_to_outbox(store::statement_cache& statements, soci::session& sql,
                      const events::event& e);

struct outbox_backlog {
    std::int64_t unsent = 0;
    std::optional<std::int64_t> oldest_unsent_ms;  ///< created_at of the oldest unsent row
};

/// Counts every unsent row (/metrics).
outbox_backlog read_backlog(soci::session& sql);

/// The backlog's /metrics lines (events not yet published, age of the oldest one at
/// `now_ms`).
std::string backlog_metrics(const outbox_backlog& backlog, std::int64_t now_ms);
/// Unsent rows, at most `bound` of them counted (/readyz).
std::int64_t count_unsent_up_to(soci::session& sql, std::int64_t bound);

/// Claims the oldest unsent rows that no relay holds a live claim on (claimed_until absent
/// or before `now_ms`), in id order: sets their claimed_until to `until_ms`. Run inside a
/// write transaction and commit before publishing. With `lock_rows` (PostgreSQL) the
/// SELECT is FOR UPDATE SKIP LOCKED, so relays claiming at once take different rows.
std::vector<outbox_row> claim_unsent(soci::session& sql, int limit, bool lock_rows,
                                     std::int64_t now_ms, std::int64_t until_ms);

/// True when claim_unsent() at `now_ms` would find a row (a read, no transaction).
bool any_claimable(soci::session& sql, std::int64_t now_ms);

/// Ends the claim on rows the broker did not acknowledge (still unsent): tried again at once.
void release_claims(soci::session& sql, const std::vector<std::int64_t>& ids);

/// Deletes rows sent before `cutoff_ms`; returns how many.
std::int64_t delete_sent_before(soci::session& sql, std::int64_t cutoff_ms);

/// Marks rows as published at `sent_at_ms`.
void mark_sent(soci::session& sql, const std::vector<std::int64_t>& ids, std::int64_t sent_at_ms);

}  // namespace bsocial::outbox
