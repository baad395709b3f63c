#pragma once
// The notification pushers' settings (core/settings.hpp; hub.hpp). Both `serve` and
// `notifier` push notifications, so both take them.

#include <stdexcept>

namespace bsocial::notify {

struct hub_settings {
    int sockets_per_user = 16;  ///< notification sockets per user and process
    int safety_poll_ms = 1000;  ///< pushers re-read recent rows this often

    void validate() const {
        if (sockets_per_user < 1 || sockets_per_user > 1000)
            throw std::invalid_argument(
                "notification sockets per user must be 1..1000 (BSOCIAL_NOTIFY_SOCKETS_PER_USER)");
        if (safety_poll_ms < 50 || safety_poll_ms > 3600000)
            throw std::invalid_argument(
                "notification safety poll must be 50..3600000 ms (BSOCIAL_NOTIFY_SAFETY_POLL_MS)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(sockets_per_user, "notify-sockets-per-user", "BSOCIAL_NOTIFY_SOCKETS_PER_USER",
          "notification WebSockets per user and process; one more closes the oldest");
        d(safety_poll_ms, "notify-safety-poll-ms", "BSOCIAL_NOTIFY_SAFETY_POLL_MS",
          "pushers re-read recent notifications this often, in case a wake-up was lost");
    }
};

}  // namespace bsocial::notify
