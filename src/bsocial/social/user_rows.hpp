#pragma once
// Reading `users` rows with SOCI: the one place that knows the column list and its order.
// Every query reading a social::user selects BSOCIAL_USER_COLUMNS (sql.hpp) and binds with
// bind_user (social/sql.hpp, social/accounts.cpp, sessions/sql.hpp).

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
