#pragma once
// A small router: "METHOD /path/{param}/..." patterns matched segment by segment.
// Unknown path -> 404, known path with another method -> 405 with Allow.
// Built once at start, then read-only (thread-safe dispatch).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/core/error.hpp"
#include "bsocial/http/message.hpp"
#include "bsocial/http/websocket.hpp"

namespace bsocial::http {

using handler = std::function<response(request&)>;

/// A route's answer from memory: runs on the connection's I/O thread, so it must never
/// block (no SQL, no pool lease, only locks held for microseconds). nullopt: it needs the
/// database; the route's handler then runs on its pool, as if this had not been asked.
using memory_handler = std::function<std::optional<response>(request&)>;

/// Where a route's handler runs. Most run on the SQL pool, one thread per database
/// connection (more threads than connections would only queue for one, and switching
/// between them cost more than the feed's own work). A handler that waits long on
/// something other than SQL (a password hash, the search engine) runs on the waiting
/// pool, so its wait never takes an SQL request's thread.
/// `io_thread`: the handler never blocks (e.g. /healthz): it runs where the request was
/// read, with no hop to a pool and back (docs/performance.md).
enum class runs_on { sql_pool, waiting_pool, io_thread };

/// What the process adds around every request; each may be empty.
struct router_hooks {
    /// Told of any exception other than a bsocial::error or http::transport_error (the
    /// request gets a 500), e.g. to log it.
    std::function<void(const request&, const std::exception&)> on_exception;
    /// Asked first about such an exception: an error to answer instead of the 500 (e.g.
    /// a lost database connection becomes 503 unavailable + Retry-After), or nullopt.
    std::function<std::optional<bsocial::error>(const std::exception&)> translate_exception;
    /// Answers requests no route matches (e.g. the web app's files); nullopt means 404.
    std::function<std::optional<response>(const request&)> fallback;
    /// Called after every handled request (e.g. to wake the outbox relay after a write).
    std::function<void(const request&, const response&)> on_response;
};

class router {
  public:
    explicit router(router_hooks hooks = {});

    /// `pattern` like "/api/v1/users/{username}"; literal segments win over parameters.
    void add(std::string method, std::string pattern, handler h,
             runs_on where = runs_on::sql_pool);
    /// A route asked first on the I/O thread (`first`), then, when that needs the
    /// database, on the SQL pool (`h`). Both must give the same answer to the same state.
    void add(std::string method, std::string pattern, memory_handler first, handler h);

    /// A route as added.
    struct route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        handler h;
        runs_on where;
        memory_handler first;  ///< may be empty
    };
    /// The route of a request, found once: `where` picks the pool, dispatch() runs it.
    struct resolution {
        const route* best = nullptr;        ///< nullptr: 405, a WebSocket path, static or 404
        std::vector<std::string> segments;  ///< of the request's path
        std::string allow;                  ///< the path's methods, when `best` is nullptr
        runs_on where = runs_on::sql_pool;
    };
    /// The route of `req` (its method and path); sql_pool when none matches.
    resolution resolve(const request& req) const;

    /// A WebSocket route (GET with Upgrade: websocket).
    void add_websocket(std::string pattern, ws_handler h);

    /// Decides a WebSocket handshake: unknown path -> refused 404; errors -> problem.
    ws_decision dispatch_upgrade(request& req) const;

    /// Fills req.params and req.route, runs the handler. bsocial::error and
    /// http::transport_error become a problem response; any other exception a 500 (told to
    /// hooks.on_exception).
    response dispatch(request& req, const resolution& found) const;
    response dispatch(request& req) const { return dispatch(req, resolve(req)); }

    /// On the I/O thread: the route's memory_handler's answer (errors mapped as dispatch()
    /// maps them), or nullopt when the route has none or it needs the database.
    std::optional<response> answer_from_memory(request& req, const resolution& found) const;

  private:
    struct ws_route {
        std::string pattern;
        std::vector<std::string> segments;
        ws_handler h;
    };
    template <class F>
    response guarded(request& req, F&& run) const;

    router_hooks hooks_;
    std::vector<route> routes_;
    std::vector<ws_route> ws_routes_;
};

/// Splits "/a/b/c" into {"a","b","c"} (empty segments kept, except a leading one).
std::vector<std::string> split_path(const std::string& path);

}  // namespace bsocial::http
