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

/// Binds (:now) in seconds: revocations of tokens that expired anyway.
inline constexpr const char* prune_revoked_tokens =
    "DELETE FROM revoked_tokens WHERE expires_at < :now";

/// Binds (:now) in seconds: the revoked tokens still valid (few: logouts within one
/// token lifetime).
inline constexpr const char* revoked_unexpired =
    "SELECT jti FROM revoked_tokens WHERE expires_at > :now";

}  // namespace bsocial::sessions::queries
