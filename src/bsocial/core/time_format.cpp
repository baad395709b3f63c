#include "bsocial/core/time_format.hpp"

#include <chrono>
#include <cstdio>

namespace bsocial {

std::string format_rfc3339_ms(std::int64_t epoch_ms) {
    using namespace std::chrono;
    const sys_time<milliseconds> tp{milliseconds{epoch_ms}};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss<milliseconds> tod{tp - day};
    char buf[64];
    std::snprintf(
        buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
        static_cast<long>(tod.seconds().count()), static_cast<long>(tod.subseconds().count()));
    return buf;
}

}  // namespace bsocial
