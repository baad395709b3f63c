#pragma once
// Statements prepared once per pooled connection and run many times. SQLite takes
// longer to compile a feed page query than to run it, and PostgreSQL spends a round trip
// on each prepare; the hot paths (authentication, the feed) keep their statements here.
//
// A cached statement belongs to one pooled connection, which one thread uses at a time
// (the holder of its lease), so a connection's statements need no lock. The registry of
// connections (every session_pool of the database adds its own) is read under a shared
// lock. A connection that is reconnected first forgets its statements (they were prepared
// on the old server connection and their destructors still talk to it).

#include <soci/soci.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "bsocial/store/statement.hpp"

namespace bsocial::store {

using parameter = std::variant<std::int64_t, std::string>;

/// A prepared statement whose rows are bound into a `Row` by `BindRow(st, row)` and
/// whose parameters are set per run, in order (their types fixed by the first run).
template <class Row>
class cached_query {
  public:
    template <class BindRow>
    cached_query(soci::session& pooled, const std::string& text,
                 const std::vector<parameter>& first_values, BindRow bind_row)
        : st_(pooled) {
        bind_row(st_, row_);
        for (const auto& v : first_values) {
            if (std::holds_alternative<std::int64_t>(v)) {
                ints_.push_back(0);
                st_.exchange(soci::use(ints_.back()));
            } else {
                strings_.emplace_back();
                st_.exchange(soci::use(strings_.back()));
            }
        }
        prepare_statement(st_, text);
    }

    /// Runs with `values` (same count and types as the first run); every row, in order.
    std::vector<Row> run(const std::vector<parameter>& values) {
        std::size_t i = 0, s = 0;
        for (const auto& v : values) {
            if (const auto* n = std::get_if<std::int64_t>(&v))
                ints_[i++] = *n;
            else
                strings_[s++] = std::get<std::string>(v);
        }
        std::vector<Row> out;
        if (st_.execute(true)) {
            do {
                out.push_back(row_);
            } while (st_.fetch());
        }
        return out;
    }

  private:
    Row row_;
    std::deque<std::int64_t> ints_;  // deques: SOCI keeps references to the elements
    std::deque<std::string> strings_;
    soci::statement st_;
};

class statement_cache {
  public:
    statement_cache() = default;
    statement_cache(const statement_cache&) = delete;
    statement_cache& operator=(const statement_cache&) = delete;

    /// A pooled connection gets its own cache (session_pool, before it lends it out).
    void add(soci::session* pooled);
    /// Drops the statements of `pooled` (its holder only: before reconnecting it).
    void forget(soci::session* pooled);
    /// Drops `pooled` and its statements (its pool, when destroyed).
    void remove(soci::session* pooled);
    /// Statements prepared on `pooled` right now (tests).
    std::size_t prepared_on(soci::session* pooled);

    /// Runs `text` with `values` on `sql`'s connection, preparing it the first time.
    template <class Row, class BindRow>
    std::vector<Row> run(soci::session& sql, const std::string& text,
                         const std::vector<parameter>& values, BindRow bind_row) {
        connection& c = connection_of(sql);
        auto& slot = c.statements[text];
        if (!slot) {
            if (c.statements.size() > max_per_connection) {
                // Queries built from variable parts (one arm per followed celebrity) are
                // few in practice; past the bound, start over rather than grow forever.
                c.statements.clear();
                return run<Row>(sql, text, values, bind_row);
            }
            slot = std::make_shared<cached_query<Row>>(*c.pooled, text, values, bind_row);
        }
        try {
            return std::static_pointer_cast<cached_query<Row>>(slot)->run(values);
        } catch (...) {
            c.statements.erase(text);  // prepared afresh next time, whatever state it is in
            throw;
        }
    }

    /// The same for a statement that returns no rows (an INSERT, an UPDATE).
    void execute(soci::session& sql, const std::string& text, const std::vector<parameter>& values) {
        run<no_row>(sql, text, values, [](soci::statement&, no_row&) {});
    }

  private:
    struct no_row {};
    static constexpr std::size_t max_per_connection = 256;
    struct connection {
        soci::session* pooled = nullptr;
        std::unordered_map<std::string, std::shared_ptr<void>> statements;
    };
    connection& connection_of(soci::session& sql);

    std::shared_mutex registry_;
    std::unordered_map<const soci::session*, std::unique_ptr<connection>> connections_;
};

}  // namespace bsocial::store
