#pragma once
// The log level of a process (every long-running subcommand takes it).

#include <stdexcept>
#include <string>

namespace bsocial {

struct log_settings {
    std::string level = "info";

    void validate() const {
        if (level != "trace" && level != "debug" && level != "info" && level != "warn" &&
            level != "error")
            throw std::invalid_argument(
                "log level must be one of trace, debug, info, warn, error (BSOCIAL_LOG_LEVEL)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(level, "log-level", "BSOCIAL_LOG_LEVEL", "trace|debug|info|warn|error");
    }
};

}  // namespace bsocial
