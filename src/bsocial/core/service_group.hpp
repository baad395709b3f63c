#pragma once
// The background services of a process, stopped in reverse order of their start (like
// Redpanda's application with its deferred stops). start(x) calls x.start() and records
// x.stop(); stop() runs the recorded stops last first. The destructor stops what is still
// running, so a start that throws still stops everything started before it.
//
//   service_group services;            // declared after the services it starts
//   services.start(relay);             // relay.start(); on stop: relay.stop()
//   services.start(optional_worker);   // a null std::unique_ptr: nothing to start
//   server.run();
//   services.stop();                   // rethrows the first stop() that threw
//
// Not thread-safe: one thread starts and stops (the process's main thread).

#include <functional>
#include <memory>
#include <vector>

namespace bsocial {

class service_group {
  public:
    service_group() = default;
    service_group(const service_group&) = delete;
    service_group& operator=(const service_group&) = delete;
    /// Stops whatever is still started; a stop that throws here is logged, not rethrown.
    ~service_group();

    template <class Service>
    requires requires(Service& s) {
        s.start();
        s.stop();
    }
    void start(Service& service) {
        service.start();
        defer([&service] { service.stop(); });
    }
    template <class Service>
    void start(const std::unique_ptr<Service>& service) {
        if (service) start(*service);
    }

    /// Records `stop` to run at stop(), before everything recorded earlier.
    void defer(std::function<void()> stop);

    /// Runs every recorded stop, the last recorded first, each once. All of them run even
    /// when one throws; the first exception is then rethrown.
    void stop();

    std::size_t size() const { return stops_.size(); }

  private:
    std::vector<std::function<void()>> stops_;
};

}  // namespace bsocial
