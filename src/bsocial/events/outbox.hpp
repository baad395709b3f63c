#pragma once
// The transactional outbox table: append() runs inside the caller's write transaction,
// so an event exists exactly when the change it reports was committed.

#include <soci/session.h>

#include <cstdint>
#include <optional>

#include "bsocial/events/event.hpp"

namespace bsocial::events {

void append_to_outbox(soci::session& sql, const event& e);

struct outbox_backlog {
    std::int64_t unsent = 0;
    std::optional<std::int64_t> oldest_unsent_ms;  ///< created_at of the oldest unsent row
};

outbox_backlog read_backlog(soci::session& sql);

}  // namespace bsocial::events
