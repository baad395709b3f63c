#include "bsocial/core/service_group.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace bsocial {

service_group::~service_group() {
    try {
        stop();
    } catch (const std::exception& e) {
        spdlog::error("module=core event=service_stop_failed error=\"{}\"", e.what());
    } catch (...) {
        spdlog::error("module=core event=service_stop_failed error=unknown");
    }
}

void service_group::defer(std::function<void()> stop) { stops_.push_back(std::move(stop)); }

void service_group::stop() {
    std::exception_ptr first;
    while (!stops_.empty()) {
        auto stop = std::move(stops_.back());
        stops_.pop_back();
        try {
            stop();
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    if (first) std::rethrow_exception(first);
}

}  // namespace bsocial
