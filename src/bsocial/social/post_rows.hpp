#pragma once
// Reading posts with SOCI: one place that knows the post column list and its order.

#include <soci/soci.h>

#include "bsocial/social/models.hpp"

namespace bsocial::social::detail {

/// The columns bind_post binds, in order: posts aliased `p`, their author `u`.
#define BSOCIAL_POST_COLUMNS                                                            \
    "p.id, p.user_id, u.username, u.first_name, u.last_name, p.content, p.created_at, " \
    "p.comment_count"

/// Binds the BSOCIAL_POST_COLUMNS of a statement into `target`.
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
