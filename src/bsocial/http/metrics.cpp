#include "bsocial/http/metrics.hpp"

#include <cmath>
#include <functional>
#include <iomanip>
#include <sstream>
#include <thread>

namespace bsocial::http {

void metrics::record(std::string_view route, std::string_view method, unsigned status,
                     double seconds) {
    auto& s = shards_[std::hash<std::thread::id>{}(std::this_thread::get_id()) % shard_count];
    std::lock_guard lock(s.mutex);
    const std::tuple<std::string_view, std::string_view, unsigned> key{route, method, status};
    auto it = s.by_key.find(key);
    if (it == s.by_key.end())
        it = s.by_key.emplace(std::tuple{std::string(route), std::string(method), status}, series{})
                 .first;
    auto& e = it->second;
    ++e.requests;
    for (std::size_t i = 0; i < buckets.size(); ++i)
        if (seconds <= buckets[i]) ++e.duration.counts[i];
    ++e.duration.count;
    e.duration.sum += seconds;
}

std::string metrics::render() const {
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests;
    std::map<std::string, histogram> durations;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        for (const auto& [key, e] : s.by_key) {
            requests[key] += e.requests;
            auto& h = durations[std::get<0>(key)];
            for (std::size_t i = 0; i < buckets.size(); ++i) h.counts[i] += e.duration.counts[i];
            h.count += e.duration.count;
            h.sum += e.duration.sum;
        }
    }
    std::ostringstream out;
    out << "# HELP bsocial_http_requests_total HTTP requests by route, method and status.\n"
           "# TYPE bsocial_http_requests_total counter\n";
    for (const auto& [key, n] : requests) {
        const auto& [route, method, status] = key;
        out << "bsocial_http_requests_total{route=\"" << route << "\",method=\"" << method
            << "\",status=\"" << status << "\"} " << n << "\n";
    }
    out << "# HELP bsocial_http_request_duration_seconds HTTP request latency by route.\n"
           "# TYPE bsocial_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : durations) {
        for (std::size_t i = 0; i < buckets.size(); ++i)
            out << "bsocial_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
                << buckets[i] << "\"} " << h.counts[i] << "\n";
        out << "bsocial_http_request_duration_seconds_bucket{route=\"" << route
            << "\",le=\"+Inf\"} " << h.count << "\n";
        out << "bsocial_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum
            << "\n";
        out << "bsocial_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count
            << "\n";
    }
    return out.str();
}

}  // namespace bsocial::http
