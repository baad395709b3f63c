#include "bsocial/core/stop_signals.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>

namespace bsocial {

namespace {
sigset_t stop_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}
}  // namespace

stop_signals::stop_signals() {
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    waiter_ = std::thread([this, set] {
        int received = 0;
        sigwait(&set, &received);
        {
            std::lock_guard lock(mutex_);
            if (closing_) return;
        }
        spdlog::info("module=core event=signal signal={}", received);
        request_stop();
    });
}

stop_signals::~stop_signals() {
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    // Wakes sigwait when no signal came: SIGTERM to that thread only, which takes it.
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
}

void stop_signals::on_stop(std::function<void()> callback) {
    {
        std::lock_guard lock(mutex_);
        if (!stop_) {
            callbacks_.push_back(std::move(callback));
            return;
        }
    }
    callback();
}

void stop_signals::request_stop() {
    std::vector<std::function<void()>> callbacks;
    {
        std::lock_guard lock(mutex_);
        if (stop_) return;
        stop_ = true;
        callbacks.swap(callbacks_);
    }
    stopped_.notify_all();
    for (auto& callback : callbacks) callback();
}

void stop_signals::wait() {
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, [this] { return stop_; });
}

bool stop_signals::wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return stopped_.wait_for(lock, timeout, [this] { return stop_; });
}

bool stop_signals::stop_requested() const {
    std::lock_guard lock(mutex_);
    return stop_;
}

}  // namespace bsocial
