#pragma once
// Writes a generated dataset into an empty bSocial database (SQLite or PostgreSQL),
// straight through the store layer: migrations first, then every table the API reads,
// the home timelines included (built as the API would: docs/feed.md). No outbox rows:
// seeded history is not news, and no event is published for it.
// Blocking; single-threaded; prints a progress bar with rows/s and ETA to stderr.

#include <cstdint>
#include <string>

#include "bsocial/seed/dataset.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::seed {

struct load_totals {
    std::int64_t rows = 0;
    double seconds = 0;
};

/// Throws std::runtime_error when the database already has users (seed an empty one).
/// `password_hash`: one Argon2id hash every seeded account shares.
load_totals load(store::database& db, const dataset& d, const options& opts,
                 const social::timeline_settings& feed, const std::string& password_hash,
                 bool show_progress);

}  // namespace bsocial::seed
