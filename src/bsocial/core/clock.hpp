#pragma once
// Time source seam: production uses system_clock; unit tests inject a fixed clock.

#include <chrono>
#include <cstdint>

namespace bsocial {

class clock {
  public:
    virtual ~clock() = default;
    /// Milliseconds since the Unix epoch (UTC).
    virtual std::int64_t now_ms() const = 0;
    std::int64_t now_seconds() const { return now_ms() / 1000; }
};

class system_clock final : public clock {
  public:
    std::int64_t now_ms() const override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

}  // namespace bsocial
