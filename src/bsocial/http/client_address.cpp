#include "bsocial/http/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>

namespace bsocial::http {

namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 5 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// `s` as an address of family `AF` (inet_pton), `N` bytes, at most `max_length` long.
template <int AF, std::size_t N>
std::optional<std::array<std::uint8_t, N>> parse_bytes(std::string_view s, std::size_t max_length) {
    if (s.size() > max_length) return std::nullopt;
    const std::string z(s);
    std::array<std::uint8_t, N> out{};
    if (::inet_pton(AF, z.c_str(), out.data()) != 1) return std::nullopt;
    return out;
}

std::optional<ip_address> parse_v4(std::string_view s) {
    const auto b = parse_bytes<AF_INET, 4>(s, 15);
    return b ? std::optional(ip_address::from_v4(*b)) : std::nullopt;
}

std::optional<ip_address> parse_v6(std::string_view s) {
    const auto b = parse_bytes<AF_INET6, 16>(s, 45);
    return b ? std::optional(ip_address::from_v6(*b)) : std::nullopt;
}

ip_address masked(ip_address a, unsigned prefix) {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned bits_before = i * 8;
        if (prefix >= bits_before + 8) continue;
        const unsigned keep = prefix > bits_before ? prefix - bits_before : 0;
        a.bytes[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    }
    return a;
}

}  // namespace

ip_address ip_address::from_v4(const std::array<std::uint8_t, 4>& b) {
    ip_address out;
    std::copy(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), out.bytes.begin());
    std::copy(b.begin(), b.end(), out.bytes.begin() + 12);
    return out;
}

ip_address ip_address::from_v6(const std::array<std::uint8_t, 16>& b) { return ip_address{b}; }

bool ip_address::is_v4() const {
    return std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), bytes.begin());
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (text.front() == '[') {  // [v6] or [v6]:port
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const auto rest = text.substr(close + 1);
        if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1))))
            return std::nullopt;
        return parse_v6(text.substr(1, close - 1));
    }
    const auto colons = std::count(text.begin(), text.end(), ':');
    if (colons == 0) return parse_v4(text);
    if (colons == 1) {  // v4:port
        const auto colon = text.find(':');
        if (!all_digits(text.substr(colon + 1))) return std::nullopt;
        return parse_v4(text.substr(0, colon));
    }
    return parse_v6(text);
}

std::string client_key(const ip_address& address) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (address.is_v4()) {
        ::inet_ntop(AF_INET, address.bytes.data() + 12, buf, sizeof buf);
        return buf;
    }
    const ip_address prefix = masked(address, 64);
    ::inet_ntop(AF_INET6, prefix.bytes.data(), buf, sizeof buf);
    return std::string(buf) + "/64";
}

trusted_proxies::trusted_proxies(const std::vector<std::string>& cidrs) {
    for (const auto& raw : cidrs) {
        const std::string_view entry = trim(raw);
        if (entry.empty()) continue;
        const auto bad = [&raw](const std::string& why) {
            return std::invalid_argument("trusted proxies (BSOCIAL_TRUSTED_PROXIES): \"" + raw +
                                         "\" " + why);
        };
        const auto slash = entry.find('/');
        const std::string_view addr_text = entry.substr(0, slash);
        // A bare address or a CIDR; no brackets or ports here.
        if (addr_text.find_first_of("[]") != std::string_view::npos)
            throw bad("is not an IPv4 or IPv6 address with an optional /prefix");
        const bool v6_text = addr_text.find(':') != std::string_view::npos;
        const auto addr = v6_text ? parse_v6(addr_text) : parse_v4(addr_text);
        if (!addr) throw bad("is not an IPv4 or IPv6 address with an optional /prefix");
        const unsigned max_prefix = v6_text ? 128 : 32;
        unsigned prefix = max_prefix;
        if (slash != std::string_view::npos) {
            const auto p = entry.substr(slash + 1);
            if (p.empty() || p.size() > 3 ||
                !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
                throw bad("has a malformed prefix length");
            prefix = static_cast<unsigned>(std::stoul(std::string(p)));
            if (prefix > max_prefix)
                throw bad("has a prefix length above " + std::to_string(max_prefix));
        }
        // IPv4 ranges live in the IPv4-mapped part of the 128-bit space.
        if (!v6_text) prefix += 96;
        ranges_.push_back({masked(*addr, prefix), prefix});
    }
}

bool trusted_proxies::contains(const ip_address& address) const {
    return std::any_of(ranges_.begin(), ranges_.end(), [&address](const range& r) {
        return masked(address, r.prefix) == r.base;
    });
}

ip_address forwarded_client(const ip_address& peer,
                            const std::vector<std::string_view>& forwarded_for,
                            const trusted_proxies& proxies) {
    ip_address found = peer;
    for (auto line = forwarded_for.rbegin(); line != forwarded_for.rend(); ++line) {
        std::string_view rest = *line;
        for (;;) {
            const auto comma = rest.rfind(',');
            const std::string_view entry =
                trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
            const auto address = ip_address::parse(entry);
            if (!address) return found;  // malformed: what was found so far
            found = *address;
            if (!proxies.contains(found)) return found;
            if (comma == std::string_view::npos) break;
            rest = rest.substr(0, comma);
        }
    }
    return found;  // every entry trusted: the left-most (or the peer when there were none)
}

}  // namespace bsocial::http
