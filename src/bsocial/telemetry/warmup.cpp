#include "bsocial/telemetry/warmup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>

namespace bsocial::telemetry {

namespace {

using steady = std::chrono::steady_clock;

std::int64_t ms_since(steady::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count();
}

// Field types like the events' and entities' mappings (keyword, long, date, analysed text),
// so the same indexing code gets compiled.
constexpr const char* scratch_index_body = R"({
  "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
  "mappings": {"dynamic": "strict", "properties": {
    "type": {"type": "keyword"}, "occurred_at": {"type": "date"},
    "user_id": {"type": "long"}, "username": {"type": "keyword"},
    "post_id": {"type": "keyword"}, "email": {"type": "keyword"},
    "content": {"type": "text"}}}
})";

void delete_scratch(es_client& es, const std::string& index) {
    const auto r = es.request("DELETE", "/" + index);
    if (r.status != 200 && r.status != 404)
        spdlog::warn("module=telemetry event=warmup_cleanup_failed index={} status={} body=\"{}\"",
                     index, r.status, r.body.substr(0, 300));
}

}  // namespace

std::string warmup_index(const elasticsearch_config& config) { return config.index + "_warmup"; }

std::string warmup_index_json() { return scratch_index_body; }

std::string warmup_bulk_body(const std::string& index, int first, int count) {
    std::string out;
    out.reserve(static_cast<std::size_t>(count) * 320);
    const std::string action = R"({"index":{"_index":")" + index + R"("}})" + "\n";
    for (int i = first; i < first + count; ++i) {
        const int user = 1000 + (i * 7919) % 5000;
        const int second = i % 60, minute = (i / 60) % 60;
        char at[32];
        std::snprintf(at, sizeof at, "2026-01-01T00:%02d:%02d.%03dZ", minute, second, i % 1000);
        const char* type = i % 5 < 2    ? "user.logged_in"
                           : i % 5 == 2 ? "post.created"
                                        : "comment.created";
        out += action;
        out += R"({"type":")";
        out += type;
        out += R"(","occurred_at":")";
        out += at;
        out += R"(","user_id":)" + std::to_string(user) + R"(,"username":"w)" +
               std::to_string(user) + R"(","post_id":")" + std::to_string(i) + R"(","email":"w)" +
               std::to_string(user) + R"(@example.com","content":"warm up )" + std::to_string(i) +
               " with some words " + std::to_string(i % 97) + "\"}\n";
    }
    return out;
}

warmup_result warm_up(es_client& es, const elasticsearch_config& config, int documents, int batch,
                      const std::function<bool()>& stopping) {
    warmup_result out;
    if (documents <= 0) return out;
    const auto started = steady::now();
    const auto index = warmup_index(config);
    batch = std::max(1, batch);
    try {
        delete_scratch(es, index);  // a crash during an earlier warm-up left it behind
        const auto made = es.request("PUT", "/" + index, scratch_index_body);
        if (made.status != 200) {
            spdlog::warn("module=telemetry event=warmup_skipped index={} status={} body=\"{}\"",
                         index, made.status, made.body.substr(0, 300));
            return out;
        }
        int sent = 0;
        while (sent < documents && !(stopping && stopping())) {
            const int n = std::min(batch, documents - sent);
            const auto t = steady::now();
            const auto r = es.request("POST", "/_bulk", warmup_bulk_body(index, sent, n),
                                      "application/x-ndjson");
            const auto took = ms_since(t);
            // 200 with "errors":true: items refused (e.g. a field the strict mapping lacks).
            if (r.status != 200 || r.body.find("\"errors\":true") != std::string::npos) {
                spdlog::warn("module=telemetry event=warmup_bulk_failed status={} body=\"{}\"",
                             r.status, r.body.substr(0, 300));
                break;
            }
            if (out.bulks == 0) out.first_bulk_ms = took;
            out.last_bulk_ms = took;
            ++out.bulks;
            sent += n;
            // The search path too (an ids-like terms query, as a reader of new events does).
            es.request("POST", "/" + index + "/_refresh");
            es.request("POST", "/" + index + "/_search",
                       R"({"size":10,"query":{"bool":{"filter":[{"term":{"type":"post.created"}},)"
                       R"({"terms":{"post_id":[")" +
                           std::to_string(sent - 1) + R"(",")" + std::to_string(sent / 2) +
                           R"("]}}]}},)"
                           R"("aggs":{"t":{"terms":{"field":"type"}}}})");
        }
        out.documents = sent;
        delete_scratch(es, index);
    } catch (const std::exception& e) {  // an outage or refused credentials: the start goes on
        spdlog::warn("module=telemetry event=warmup_failed error=\"{}\"", e.what());
        try {
            delete_scratch(es, index);
        } catch (const std::exception&) {  // next start deletes it
        }
    }
    out.took_ms = ms_since(started);
    spdlog::info(
        "module=telemetry event=warmup index={} documents={} bulks={} first_bulk_ms={} "
        "last_bulk_ms={} took_ms={}",
        index, out.documents, out.bulks, out.first_bulk_ms, out.last_bulk_ms, out.took_ms);
    return out;
}

}  // namespace bsocial::telemetry
