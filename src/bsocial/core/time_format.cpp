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
    const int y = static_cast<int>(ymd.year());
    if (y < 0 || y > 9999) {  // never a stored time; printf's widths, as before
        char buf[64];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", y,
                      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                      static_cast<long>(tod.hours().count()),
                      static_cast<long>(tod.minutes().count()),
                      static_cast<long>(tod.seconds().count()),
                      static_cast<long>(tod.subseconds().count()));
        return buf;
    }
    // Digit by digit: every post and comment of a page formats its time (snprintf was 2%
    // of a feed request).
    std::string out = "0000-00-00T00:00:00.000Z";
    const auto put = [&out](std::size_t at, long value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10)
            out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    };
    put(0, y, 4);
    put(5, static_cast<long>(static_cast<unsigned>(ymd.month())), 2);
    put(8, static_cast<long>(static_cast<unsigned>(ymd.day())), 2);
    put(11, static_cast<long>(tod.hours().count()), 2);
    put(14, static_cast<long>(tod.minutes().count()), 2);
    put(17, static_cast<long>(tod.seconds().count()), 2);
    put(20, static_cast<long>(tod.subseconds().count()), 3);
    return out;
}

namespace {
/// The n-digit number at s[at..at+n), or -1.
int digits(std::string_view s, std::size_t at, std::size_t n) {
    if (at + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}
}  // namespace

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) {
    using namespace std::chrono;
    // 2026-11-28T10:15:30 is 19 bytes; then [.fraction] and Z or +HH:MM.
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return std::nullopt;
    const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return std::nullopt;
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                              day{static_cast<unsigned>(d)}};
    if (!date.ok()) return std::nullopt;

    std::size_t at = 19;
    std::int64_t ms = 0;
    if (s[at] == '.') {
        const std::size_t first = ++at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
            if (at - first < 3) ms = ms * 10 + (s[at] - '0');
            ++at;
        }
        if (at == first) return std::nullopt;
        for (std::size_t n = at - first; n < 3; ++n) ms *= 10;
    }
    std::int64_t offset_minutes = 0;
    if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
        ++at;
    } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
        const int oh = digits(s, at + 1, 2), om = digits(s, at + 4, 2);
        if (at + 6 > s.size() || s[at + 3] != ':' || oh < 0 || oh > 23 || om < 0 || om > 59)
            return std::nullopt;
        offset_minutes = (s[at] == '-' ? -1 : 1) * (oh * 60LL + om);
        at += 6;
    } else {
        return std::nullopt;
    }
    if (at != s.size()) return std::nullopt;
    const auto midnight = duration_cast<milliseconds>(sys_days{date}.time_since_epoch()).count();
    return midnight + ((h * 60LL + mi - offset_minutes) * 60LL + sec) * 1000LL + ms;
}

}  // namespace bsocial
