#pragma once
// A cluster_bus subscriber for tests: what it received, with a wait for the n-th message.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bsocial/store/cluster_bus.hpp"

namespace bsocial::testing {
using namespace std::chrono_literals;

/// What a subscriber received, with a wait for the n-th message.
struct inbox {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::string> got;
    int resyncs = 0;

    store::cluster_bus::handler handler(std::string tag) {
        return [this, tag](std::string_view payload) {
            const std::lock_guard lock(mutex);
            got.push_back(tag + ":" + std::string(payload));
            cv.notify_all();
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return got.size() >= n; });
    }
    std::vector<std::string> snapshot() {
        const std::lock_guard lock(mutex);
        return got;
    }
};

}  // namespace bsocial::testing
