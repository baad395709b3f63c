#include "bsocial/http/metrics.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace bsocial::http {

void metrics::record(const std::string& route, const std::string& method, unsigned status,
                     double seconds) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, method, status}];
    auto& h = durations_[route];
    for (std::size_t i = 0; i < buckets.size(); ++i)
        if (seconds <= buckets[i]) ++h.counts[i];
    ++h.count;
    h.sum += seconds;
}

std::string metrics::render() const {
    std::ostringstream out;
    std::lock_guard lock(mutex_);
    out << "# HELP bsocial_http_requests_total HTTP requests by route, method and status.\n"
           "# TYPE bsocial_http_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
        const auto& [route, method, status] = key;
        out << "bsocial_http_requests_total{route=\"" << route << "\",method=\"" << method
            << "\",status=\"" << status << "\"} " << n << "\n";
    }
    out << "# HELP bsocial_http_request_duration_seconds HTTP request latency by route.\n"
           "# TYPE bsocial_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : durations_) {
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
