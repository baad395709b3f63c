#include "bsocial/store/statement_cache.hpp"

#include <mutex>
#include <stdexcept>

namespace bsocial::store {

void statement_cache::add(soci::session* pooled) {
    std::unique_lock lock(registry_);
    auto& c = connections_[pooled];
    if (!c) c = std::make_unique<connection>();
    c->pooled = pooled;
}

void statement_cache::forget(soci::session* pooled) { connection_of(*pooled).statements.clear(); }

void statement_cache::remove(soci::session* pooled) {
    std::unique_ptr<connection> gone;
    {
        std::unique_lock lock(registry_);
        const auto it = connections_.find(pooled);
        if (it == connections_.end()) return;
        gone = std::move(it->second);
        connections_.erase(it);
    }
}

std::size_t statement_cache::prepared_on(soci::session* pooled) {
    return connection_of(*pooled).statements.size();
}

statement_cache::connection& statement_cache::connection_of(soci::session& sql) {
    // Leases hand out the pooled session itself, so its address names the connection.
    std::shared_lock lock(registry_);
    const auto it = connections_.find(&sql);
    if (it == connections_.end())
        throw std::logic_error("statement_cache: session is not from this database's pools");
    return *it->second;
}

}  // namespace bsocial::store
