#include "bsocial/store/pg_listener.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

namespace bsocial::store {

std::string pg_application_name(const char* what, const std::string& channel) {
    return "bsocial " + std::string(what) + " " + channel;
}

pg_conn* pg_connect(const std::string& url, const std::string& channel, const char* what) {
    // The URL expanded as "dbname", plus a bound on the connect (the caller's thread waits)
    // and a name that tells these connections apart in pg_stat_activity.
    const std::string name = pg_application_name(what, channel);
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {url.c_str(), "5", name.c_str(), nullptr};
    pg_conn* conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) == CONNECTION_OK) return conn;
    spdlog::warn("module=store event={}_connect_failed channel={} error=\"{}\"", what, channel,
                 PQerrorMessage(conn));
    PQfinish(conn);
    return nullptr;
}

std::string pg_channel_sql(pg_conn* conn, const char* verb, const std::string& channel) {
    // The channel is our constant; quote it as an identifier anyway.
    char* quoted = PQescapeIdentifier(conn, channel.c_str(), channel.size());
    std::string sql = std::string(verb) + " " + (quoted ? quoted : "");
    if (quoted) PQfreemem(quoted);
    return sql;
}

pg_listener::pg_listener(std::string url, std::string channel)
    : url_(std::move(url)), channel_(std::move(channel)) {}

pg_listener::~pg_listener() { close(); }

void pg_listener::close() noexcept {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
}

bool pg_listener::connect() {
    close();
    conn_ = pg_connect(url_, channel_, "listen");
    if (!conn_) return false;
    const std::string sql = pg_channel_sql(conn_, "LISTEN", channel_);
    PGresult* r = PQexec(conn_, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        spdlog::warn("module=store event=listen_failed error=\"{}\"", PQerrorMessage(conn_));
        close();
        return false;
    }
    if (PQsetnonblocking(conn_, 1) != 0) {
        close();
        return false;
    }
    spdlog::info("module=store event=listening channel={}", channel_);
    return true;
}

int pg_listener::socket() const noexcept { return conn_ ? PQsocket(conn_) : -1; }

int pg_listener::backend_pid() const noexcept { return conn_ ? PQbackendPID(conn_) : 0; }

bool pg_listener::drain(std::vector<std::string>& payloads) {
    if (!conn_) return false;
    if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK) {
        spdlog::warn("module=store event=listen_lost error=\"{}\"", PQerrorMessage(conn_));
        close();
        return false;
    }
    while (PGnotify* n = PQnotifies(conn_)) {
        payloads.emplace_back(n->extra ? n->extra : "");
        PQfreemem(n);
    }
    return true;
}

}  // namespace bsocial::store
