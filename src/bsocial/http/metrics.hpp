#pragma once
// Request counters and latency histograms by route, rendered in the Prometheus text
// format. Thread-safe (one mutex; a scrape is rare, a record is a map lookup). The other
// modules' unlabelled metrics: core/prometheus.hpp.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace bsocial::http {

class metrics {
  public:
    static constexpr std::array<double, 11> buckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                       0.25,  0.5,   1.0,  2.5,   5.0};

    void record(const std::string& route, const std::string& method, unsigned status,
                double seconds);

    /// Prometheus text exposition of everything recorded so far.
    std::string render() const;

  private:
    struct histogram {
        std::array<std::uint64_t, buckets.size()> counts{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
    std::map<std::string, histogram> durations_;
};

}  // namespace bsocial::http
