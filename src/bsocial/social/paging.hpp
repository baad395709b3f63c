#pragma once
// Keyset pages: every list query fetches limit + 1 rows; the extra row only says that a
// next page exists, and the cursor names the last row kept.

#include <soci/soci.h>

#include <utility>
#include <vector>

#include "bsocial/social/models.hpp"

namespace bsocial::social {

/// The page of `rows` (up to limit + 1, in page order): trimmed to `limit`, with
/// next_cursor = make_cursor(last kept row) when the extra row came.
template <class Row, class MakeCursor>
page<Row> page_of(std::vector<Row> rows, int limit, MakeCursor make_cursor) {
    page<Row> result;
    result.items = std::move(rows);
    if (static_cast<int>(result.items.size()) > limit) {
        result.items.pop_back();
        result.next_cursor = make_cursor(result.items.back());
    }
    return result;
}

/// Runs a prepared statement whose intos are bound to `row`, collects the rows, and
/// makes them a page (page_of).
template <class Row, class MakeCursor>
page<Row> collect_page(soci::statement& st, Row& row, int limit, MakeCursor make_cursor) {
    std::vector<Row> rows;
    if (st.execute(true)) {
        do {
            rows.push_back(row);
        } while (st.fetch());
    }
    return page_of(std::move(rows), limit, make_cursor);
}

}  // namespace bsocial::social
