#pragma once
// Reading `users` rows with SOCI: the one place that knows the column list and its order.
// Every query reading a social::user selects BSOCIAL_USER_COLUMNS (sql.hpp) and binds with
// bind_user (social/sql.hpp, social/accounts.cpp, sessions/sql.hpp).
//
// Why not soci::type_conversion<user> (issue 23): with SOCI 4.0.3 (Debian bookworm) it reads
// through soci::values, a dynamically described row whose C++ types come from each
// backend's column description. SQLite describes `id INTEGER PRIMARY KEY` as dt_integer:
// values.get<long long> throws std::bad_cast and get<int> truncates ids over 2^31
// (5000000000 reads 705032704), and a computed column comes back as a string. Typed
// `into` binds (here and post_rows.hpp) keep one C++ type per column on both databases,
// and the prepared statements of store::statement_cache bind them once.

#include <soci/soci.h>

#include <optional>
#include <string>

#include "bsocial/social/models.hpp"
#include "bsocial/social/sql.hpp"

namespace bsocial::social::detail {

/// The columns bind_user binds, in order (users aliased `u`; sql.hpp).
inline constexpr const char* user_columns = BSOCIAL_USER_COLUMNS;

/// Binds the user_columns of a statement into `target`.
inline void bind_user(soci::statement& st, user& target) {
    st.exchange(soci::into(target.id));
    st.exchange(soci::into(target.username));
    st.exchange(soci::into(target.email));
    st.exchange(soci::into(target.first_name));
    st.exchange(soci::into(target.last_name));
    st.exchange(soci::into(target.created_at));
}

/// The user with that (lower-case) username, if any.
std::optional<user> find_user_by_username(soci::session& sql, const std::string& username);

}  // namespace bsocial::social::detail
