#pragma once
// SOCI statements built piece by piece: add intos and uses with st.exchange(...), then
// call prepare_statement(st, sql). Then st.execute(true) fetches the first row (returns
// false when there is none) and st.fetch() the next ones. This keeps column lists in one
// helper per row type instead of repeating them in every query.

#include <soci/soci.h>

#include <string>

namespace bsocial::store {

inline void prepare_statement(soci::statement& st, const std::string& sql) {
    st.alloc();
    st.prepare(sql);
    st.define_and_bind();
}

}  // namespace bsocial::store
