#pragma once
// Request counters and latency histograms by route, rendered in the Prometheus text
// format. Thread-safe: a record goes to the calling thread's shard (its own mutex, so the
// I/O threads and the pools never wait for each other; one ordered-map lookup with no
// allocation once a route, method and status were seen); a scrape (rare) sums the shards.
// The other modules' unlabelled metrics: core/prometheus.hpp.

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

    void record(std::string_view route, std::string_view method, unsigned status,
                double seconds);

    /// Prometheus text exposition of everything recorded so far.
    std::string render() const;

  private:
    struct histogram {
        std::array<std::uint64_t, buckets.size()> counts{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    /// One route, method and status: its requests and their latencies.
    struct series {
        std::uint64_t requests = 0;
        histogram duration;
    };
    struct alignas(64) shard {
        mutable std::mutex mutex;
        std::map<std::tuple<std::string, std::string, unsigned>, series, std::less<>> by_key;
    };
    static constexpr std::size_t shard_count = 16;
    std::array<shard, shard_count> shards_;
};

}  // namespace bsocial::http
