#pragma once
// One PostgreSQL LISTEN connection (libpq directly: SOCI has no notifications). The hub
// polls socket() with its other wake-up sources and calls drain() when it is readable.
// Not thread-safe: one owner thread.

#include <string>
#include <vector>

struct pg_conn;

namespace bsocial::store {

class pg_listener {
  public:
    /// `url`: postgresql://... (libpq reads the URI form itself).
    pg_listener(std::string url, std::string channel);
    ~pg_listener();
    pg_listener(const pg_listener&) = delete;
    pg_listener& operator=(const pg_listener&) = delete;

    /// Connects and LISTENs; false (and logged) when that failed. Closes any previous one.
    bool connect();
    bool connected() const noexcept { return conn_ != nullptr; }
    /// The socket to wait on; -1 when not connected.
    int socket() const noexcept;
    /// Reads what arrived and appends each notification's payload. False when the
    /// connection was lost: it is closed, connect() again.
    bool drain(std::vector<std::string>& payloads);
    void close() noexcept;

  private:
    std::string url_;
    std::string channel_;
    pg_conn* conn_ = nullptr;
};

}  // namespace bsocial::store
