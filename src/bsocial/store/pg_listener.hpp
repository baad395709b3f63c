#pragma once
// One PostgreSQL LISTEN connection (libpq directly: SOCI has no notifications). The hub
// polls socket() with its other wake-up sources and calls drain() when it is readable.
// Not thread-safe: one owner thread.

#include <string>
#include <vector>

struct pg_conn;

namespace bsocial::store {

/// "bsocial <what> <channel>": the application_name of pg_connect()'s connections, which
/// tells them apart in pg_stat_activity (the cluster bus finds its peers' LISTENs by it).
std::string pg_application_name(const char* what, const std::string& channel);
/// A libpq connection to `url` (postgresql://...), connect bounded to 5 s, named
/// pg_application_name(what, channel); null (and logged as
/// "<what>_connect_failed") when it failed. The caller PQfinish()es it.
pg_conn* pg_connect(const std::string& url, const std::string& channel, const char* what);
/// "<verb> <channel>" with the channel quoted as an identifier (LISTEN, NOTIFY).
std::string pg_channel_sql(pg_conn* conn, const char* verb, const std::string& channel);

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
    /// The server process serving this LISTEN (pg_stat_activity's pid); 0 when not connected.
    int backend_pid() const noexcept;
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
