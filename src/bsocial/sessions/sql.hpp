#pragma once
// Every SQL statement of the sessions module (table revoked_tokens, read with users; the
// users column list is social/sql.hpp's BSOCIAL_USER_COLUMNS, bound by social/user_rows.hpp).

#include "bsocial/social/sql.hpp"

namespace bsocial::sessions::queries {

/// The user of a token id, unless that token was revoked. Binds (:id, :jti).
inline constexpr const char* find_unrevoked_user =
    "SELECT " BSOCIAL_USER_COLUMNS
    " FROM users u WHERE u.id = :id"
    " AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = :jti)";

/// Binds (:jti, :expires_at); a second revocation of one token changes nothing.
inline constexpr const char* revoke_token =
    "INSERT INTO revoked_tokens (jti, expires_at) VALUES (:jti, :expires_at)"
    " ON CONFLICT (jti) DO NOTHING";

/// Binds (:before) in seconds: revocations of tokens that expired before it anyway (the
/// caller keeps a margin for clock skew).
inline constexpr const char* prune_revoked_tokens =
    "DELETE FROM revoked_tokens WHERE expires_at < :before";

/// Binds (:now) in seconds: the revoked tokens still valid (few: logouts within one
/// token lifetime).
inline constexpr const char* revoked_unexpired =
    "SELECT jti FROM revoked_tokens WHERE expires_at > :now";

// ---- user_sessions (migration 10): one row per login, gone when revoked ----
/// Binds (:jti, :user_id, :created_at, :last_used_at, :expires_at, :user_agent, :ip).
inline constexpr const char* insert_session =
    "INSERT INTO user_sessions (jti, user_id, created_at, last_used_at, expires_at, user_agent, ip)"
    " VALUES (:jti, :user_id, :created_at, :last_used_at, :expires_at, :user_agent, :ip)";
/// Binds (:now, :jti).
inline constexpr const char* touch_session =
    "UPDATE user_sessions SET last_used_at = :now WHERE jti = :jti";
/// Binds (:user_id, :now) (s): the open sessions, newest first.
inline constexpr const char* list_sessions =
    "SELECT jti, created_at, last_used_at, expires_at, user_agent, ip FROM user_sessions"
    " WHERE user_id = :user_id AND expires_at > :now ORDER BY created_at DESC, jti";
/// Binds (:jti, :user_id): the session's expiry (s), when it is that user's.
inline constexpr const char* own_session_expiry =
    "SELECT expires_at FROM user_sessions WHERE jti = :jti AND user_id = :user_id";
/// Binds (:now (s), :limit): the open sessions used most recently, with their users, for
/// startup warming (feed_warmer.hpp): the same validity as find_unrevoked_user, set-based.
inline constexpr const char* recent_sessions =
    "SELECT s.jti, s.last_used_at, " BSOCIAL_USER_COLUMNS
    " FROM user_sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.expires_at > :now"
    " AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = s.jti)"
    " ORDER BY s.last_used_at DESC, s.jti LIMIT :limit";
/// Binds (:jti).
inline constexpr const char* delete_session = "DELETE FROM user_sessions WHERE jti = :jti";
/// Binds (:before) (s): rows of sessions that expired anyway.
inline constexpr const char* prune_sessions = "DELETE FROM user_sessions WHERE expires_at < :before";

}  // namespace bsocial::sessions::queries

namespace bsocial::sessions::queries {

// ---- roles (roles.cpp): table account_roles, and admin_bootstrap (BSOCIAL_ADMINS) ----
inline constexpr const char* admin_role = "admin";

/// Binds (:username) (lower case).
inline constexpr const char* account_id_by_username =
    "SELECT id FROM users WHERE username = :username";
/// Binds (:role).
inline constexpr const char* accounts_with_role =
    "SELECT user_id FROM account_roles WHERE role = :role";
/// Binds (:user_id, :role).
inline constexpr const char* count_role =
    "SELECT COUNT(*) FROM account_roles WHERE user_id = :user_id AND role = :role";
/// Binds (:user_id, :role, :granted_at).
inline constexpr const char* grant_role =
    "INSERT INTO account_roles (user_id, role, granted_at) VALUES (:user_id, :role, :granted_at)"
    " ON CONFLICT (user_id, role) DO NOTHING";
/// Binds (:user_id, :role).
inline constexpr const char* revoke_role =
    "DELETE FROM account_roles WHERE user_id = :user_id AND role = :role";
/// Binds (:role): id, username, granted_at of every holder, by username.
inline constexpr const char* list_role =
    "SELECT u.id, u.username, r.granted_at FROM account_roles r JOIN users u ON u.id = r.user_id"
    " WHERE r.role = :role ORDER BY u.username";
/// Binds (:username).
inline constexpr const char* bootstrap_decided =
    "SELECT COUNT(*) FROM admin_bootstrap WHERE username = :username";
/// Binds (:username, :user_id or NULL, :decided_at); returns a row only when this insert
/// decided (two instances starting together: the first decision stands).
inline constexpr const char* record_bootstrap =
    "INSERT INTO admin_bootstrap (username, user_id, decided_at)"
    " VALUES (:username, :user_id, :decided_at) ON CONFLICT (username) DO NOTHING"
    " RETURNING username";

}  // namespace bsocial::sessions::queries
