#pragma once
// Versioned schema migrations, one DDL list per dialect (DML is shared). A migration is
// applied once, inside a transaction, and recorded in schema_migrations.

#include <soci/session.h>

#include "bsocial/store/database.hpp"

namespace bsocial::store {

/// Applies every migration newer than the recorded version; returns how many ran.
int apply_migrations(soci::session& sql, dialect kind);

/// The newest schema version this build knows.
int latest_schema_version();

}  // namespace bsocial::store
