#pragma once
// Which database a process uses (core/settings.hpp), and how many connections it pools.

#include <stdexcept>
#include <string>

namespace bsocial::store {

struct database_settings {
    std::string url;                ///< empty = SQLite file in data_dir; or postgresql://...
    std::string data_dir = "data";  ///< the SQLite file, the generated JWT secret

    /// The URL actually used: `url`, or the SQLite file under data_dir.
    std::string effective_url() const {
        return url.empty() ? "sqlite:" + data_dir + "/bsocial.db" : url;
    }

    void validate() const {
        if (data_dir.empty())
            throw std::invalid_argument("data directory must not be empty (BSOCIAL_DATA_DIR)");
        if (!url.empty() && url.rfind("postgresql://", 0) != 0 &&
            url.rfind("postgres://", 0) != 0 && url.rfind("sqlite:", 0) != 0)
            throw std::invalid_argument(
                "database URL must start with postgresql:// or sqlite: (BSOCIAL_DB)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(data_dir, "data-dir", "BSOCIAL_DATA_DIR",
          "data directory (SQLite file, generated secret)");
        d(url, "db", "BSOCIAL_DB", "database URL: postgresql://... (default: SQLite in data dir)");
    }
};

/// The request path's connections: one blocking thread each (http's SQL pool).
struct pool_settings {
    int size = 4;

    void validate() const {
        if (size < 1 || size > 256)
            throw std::invalid_argument("database pool size must be 1..256 (BSOCIAL_DB_POOL)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(size, "db-pool", "BSOCIAL_DB_POOL", "database connections = blocking threads");
    }
};

}  // namespace bsocial::store
