#pragma once
// Logging a database error safely (docs/security.md, item 3). SOCI's what() carries the
// statement and every bound value ("... with :password_hash=..., :email=..."), and a
// PostgreSQL message may quote a row ("Key (email)=(...) already exists"). Neither may
// reach a log or a response: describe() keeps only the error category and the SQLite
// result code or PostgreSQL SQLSTATE.

#include <exception>
#include <string>

namespace bsocial::store {

/// True for a SOCI (database) error.
bool is_sql_error(const std::exception& e) noexcept;

/// True when a database error says the connection to the server was lost or could not be
/// made: category connection_error, a PostgreSQL SQLSTATE of class 08 or 57P01-57P03
/// (shutdown, crash, starting up), or libpq's words for a closed connection.
bool says_connection_lost(const std::exception& e) noexcept;

/// True when a database error is one that passes by itself if the same work is tried again:
/// SQLite busy, locked, out of memory, I/O error, disk full, cannot open, protocol;
/// PostgreSQL serialization failure or deadlock (class 40), lock not available (55P03),
/// insufficient resources (class 53: disk full, out of memory), a cancelled statement (57014).
/// With says_connection_lost, what a worker retries; anything else is permanent for that
/// piece of work (a constraint, a trigger, bad data): retried a bounded number of times.
bool says_transient(const std::exception& e) noexcept;

/// For a database error: "sql_error category=<...> sqlite_code=<n>" or "... sqlstate=<5>",
/// never its message. Any other exception: its what().
std::string describe_error(const std::exception& e);

}  // namespace bsocial::store
