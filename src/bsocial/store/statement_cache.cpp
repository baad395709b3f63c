#include "bsocial/store/statement_cache.hpp"

#include <stdexcept>

namespace bsocial::store {

statement_cache::statement_cache(std::vector<soci::session*> connections) {
    for (soci::session* s : connections) connections_[s->get_backend()].pooled = s;
}

statement_cache::connection& statement_cache::connection_of(soci::session& sql) {
    // A session leased from the pool shares the pooled session's backend.
    const auto it = connections_.find(sql.get_backend());
    if (it == connections_.end())
        throw std::logic_error("statement_cache: session is not from this database's pool");
    return it->second;
}

}  // namespace bsocial::store
