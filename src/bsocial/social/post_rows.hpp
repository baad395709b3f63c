#pragma once
// Reading posts with SOCI: binds the post column list of sql.hpp, in its order.

#include <soci/soci.h>

#include "bsocial/social/models.hpp"
#include "bsocial/social/sql.hpp"

namespace bsocial::social::detail {

/// Binds the BSOCIAL_POST_COLUMNS (sql.hpp) of a statement into `target`.
inline void bind_post(soci::statement& st, post& target) {
    st.exchange(soci::into(target.id));
    st.exchange(soci::into(target.by.id));
    st.exchange(soci::into(target.by.username));
    st.exchange(soci::into(target.by.first_name));
    st.exchange(soci::into(target.by.last_name));
    st.exchange(soci::into(target.content));
    st.exchange(soci::into(target.created_at));
    st.exchange(soci::into(target.comment_count));
}

}  // namespace bsocial::social::detail
