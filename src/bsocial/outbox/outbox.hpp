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

namespace bsocial::outbox {

void append_to_outbox(soci::session& sql, const events::event& e);

struct outbox_backlog {
    std::int64_t unsent = 0;
    std::optional<std::int64_t> oldest_unsent_ms;  ///< created_at of the oldest unsent row
};

outbox_backlog read_backlog(soci::session& sql);

/// The oldest unsent rows, in id order. With `lock_rows` (PostgreSQL, inside a
/// transaction) they are locked FOR UPDATE SKIP LOCKED so that several relays share the
/// work instead of publishing the same rows.
std::vector<outbox_row> fetch_unsent(soci::session& sql, int limit, bool lock_rows);

/// Deletes rows sent before `cutoff_ms`; returns how many.
std::int64_t delete_sent_before(soci::session& sql, std::int64_t cutoff_ms);

/// Marks rows as published at `sent_at_ms`.
void mark_sent(soci::session& sql, const std::vector<std::int64_t>& ids, std::int64_t sent_at_ms);

}  // namespace bsocial::outbox
