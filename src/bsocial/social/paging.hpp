#pragma once
// Keyset pages: every list query fetches limit + 1 rows; the extra row only says that a
// next page exists, and the cursor names the last row kept.

#include <soci/soci.h>

#include "bsocial/social/models.hpp"

namespace bsocial::social {

/// Runs a prepared statement whose intos are bound to `row`, collects the rows, and
/// trims to `limit`, with next_cursor = make_cursor(last kept row) when more exist.
template <class Row, class MakeCursor>
page<Row> collect_page(soci::statement& st, Row& row, int limit, MakeCursor make_cursor) {
    page<Row> result;
    if (st.execute(true)) {
        do {
            result.items.push_back(row);
        } while (st.fetch());
    }
    if (static_cast<int>(result.items.size()) > limit) {
        result.items.pop_back();
        result.next_cursor = make_cursor(result.items.back());
    }
    return result;
}

}  // namespace bsocial::social
