#include "bsocial/http/router.hpp"

#include "bsocial/core/error.hpp"
#include "bsocial/http/problem.hpp"

namespace bsocial::http {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = (!path.empty() && path[0] == '/') ? 1 : 0;
    while (true) {
        const auto slash = path.find('/', start);
        out.push_back(
            path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return out;
}

router::router(router_hooks hooks) : hooks_(std::move(hooks)) {}

void router::add(std::string method, std::string pattern, handler h, runs_on where) {
    auto segments = split_path(pattern);
    routes_.push_back(
        {std::move(method), std::move(pattern), std::move(segments), std::move(h), where, {}});
}

void router::add(std::string method, std::string pattern, memory_handler first, handler h) {
    auto segments = split_path(pattern);
    routes_.push_back({std::move(method), std::move(pattern), std::move(segments), std::move(h),
                       runs_on::sql_pool, std::move(first)});
}

namespace {
bool is_param(const std::string& s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

/// Literal segments matched, or -1 when the pattern does not match.
int match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments) {
    if (pattern.size() != segments.size()) return -1;
    int literals = 0;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (is_param(pattern[i])) {
            if (segments[i].empty()) return -1;
        } else if (pattern[i] == segments[i]) {
            ++literals;
        } else {
            return -1;
        }
    }
    return literals;
}

void fill_params(request& req, const std::vector<std::string>& pattern,
                 const std::vector<std::string>& segments) {
    req.params.clear();
    for (std::size_t i = 0; i < segments.size(); ++i)
        if (is_param(pattern[i])) req.params.push_back(segments[i]);
}
}  // namespace

void router::add_websocket(std::string pattern, ws_handler h) {
    auto segments = split_path(pattern);
    ws_routes_.push_back({std::move(pattern), std::move(segments), std::move(h)});
}

ws_decision router::dispatch_upgrade(request& req) const {
    const auto segments = split_path(req.path);
    try {
        for (const auto& r : ws_routes_) {
            if (match(r.segments, segments) < 0) continue;
            req.route = r.pattern;
            fill_params(req, r.segments, segments);
            return r.h(req);
        }
        req.route = "not_found";
        throw error(error_code::not_found, "no such WebSocket resource");
    } catch (const bsocial::error& e) {
        return ws_decision{problem_response(e), {}};
    } catch (const transport_error& e) {
        return ws_decision{problem_response(e), {}};
    } catch (const std::exception& e) {
        if (hooks_.translate_exception)
            if (auto mapped = hooks_.translate_exception(e))
                return ws_decision{problem_response(*mapped), {}};
        if (hooks_.on_exception) hooks_.on_exception(req, e);
        return ws_decision{problem_response(error(error_code::internal_error, "internal error")),
                           {}};
    }
}

router::resolution router::resolve(const request& req) const {
    resolution found;
    found.segments = split_path(req.path);
    int best_literals = -1;
    for (const auto& r : routes_) {
        const int literals = match(r.segments, found.segments);
        if (literals < 0) continue;
        if (r.method != req.method) {
            if (found.allow.find(r.method) == std::string::npos)
                found.allow += (found.allow.empty() ? "" : ", ") + r.method;
            continue;
        }
        if (literals > best_literals) {
            found.best = &r;
            best_literals = literals;
        }
    }
    if (found.best) found.where = found.best->where;
    return found;
}

// bsocial::error and transport_error become their problem; anything else a 500 (or what
// translate_exception maps it to).
template <class F>
response router::guarded(request& req, F&& run) const {
    try {
        return run();
    } catch (const bsocial::error& e) {
        return problem_response(e);
    } catch (const transport_error& e) {
        return problem_response(e);
    } catch (const std::exception& e) {
        if (hooks_.translate_exception)
            if (auto mapped = hooks_.translate_exception(e)) return problem_response(*mapped);
        if (hooks_.on_exception) hooks_.on_exception(req, e);
        return problem_response(error(error_code::internal_error, "internal error"));
    }
}

std::optional<response> router::answer_from_memory(request& req, const resolution& found) const {
    const route* best = found.best;
    if (!best || !best->first) return std::nullopt;
    std::optional<response> answer;
    bool returned = false;
    response failed = guarded(req, [&]() -> response {
        req.route = best->pattern;
        fill_params(req, best->segments, found.segments);
        answer = best->first(req);
        returned = true;
        if (answer && hooks_.on_response) hooks_.on_response(req, *answer);
        return {};
    });
    // An exception is answered here too: its problem needs no database (a forged token's
    // 401, a bad cursor's 422).
    if (!returned) return failed;
    return answer;
}

response router::dispatch(request& req, const resolution& found) const {
    const auto& segments = found.segments;
    const auto& allow = found.allow;
    const route* best = found.best;
    return guarded(req, [&]() -> response {
        if (!best) {
            if (!allow.empty()) {
                req.route = "method_not_allowed";
                auto res = problem_response(transport_error(errc::method_not_allowed,
                                                            "method not allowed on this resource"));
                res.set_header("Allow", allow);
                return res;
            }
            for (const auto& r : ws_routes_) {
                if (match(r.segments, segments) < 0) continue;
                // A WebSocket resource reached without the handshake.
                req.route = r.pattern;
                if (req.method != "GET") {
                    auto res = problem_response(transport_error(
                        errc::method_not_allowed, "method not allowed on this resource"));
                    res.set_header("Allow", "GET");
                    return res;
                }
                auto res = problem_response(
                    transport_error(errc::upgrade_required,
                                    "this resource is a WebSocket: send an Upgrade request"));
                res.set_header("Upgrade", "websocket");
                res.set_header("Connection", "Upgrade");
                return res;
            }
            if (hooks_.fallback) {
                if (auto res = hooks_.fallback(req)) {
                    req.route = "static";
                    return *res;
                }
            }
            req.route = "not_found";
            throw error(error_code::not_found, "no such resource");
        }
        req.route = best->pattern;
        fill_params(req, best->segments, segments);
        response res = best->h(req);
        if (hooks_.on_response) hooks_.on_response(req, res);
        return res;
    });
}

}  // namespace bsocial::http
