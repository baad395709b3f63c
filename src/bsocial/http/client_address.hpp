#pragma once
// Who the client is, for every per-address limit (registrations, failed logins, connections
// per client), also behind reverse proxies (docs/security.md, "Client identity").
//
// - ip_address: an IPv4 or IPv6 address; IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d),
//   so an IPv4-mapped IPv6 peer and the same IPv4 address are one client.
// - client_key: the string the limits count on: "192.0.2.1" for IPv4, the /64 for IPv6
//   ("2001:db8:1:2::/64"; one host commonly holds a whole /64).
// - trusted_proxies: the CIDRs of BSOCIAL_TRUSTED_PROXIES; only a TCP peer in them is believed
//   about X-Forwarded-For (and -Host, -Proto).
// - forwarded_client: the client behind a trusted proxy, from X-Forwarded-For.
// Pure values and functions: thread-safe, no I/O, no Beast.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bsocial::http {

struct ip_address {
    std::array<std::uint8_t, 16> bytes{};  ///< network order; IPv4 as ::ffff:a.b.c.d

    /// True for IPv4 (and IPv4-mapped IPv6) addresses.
    bool is_v4() const;

    /// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; also "[2001:db8::1]", and with a
    /// port: "192.0.2.1:443", "[2001:db8::1]:443" (as some proxies write them). nullopt for
    /// anything else (names, zones, "unknown", blanks inside).
    static std::optional<ip_address> parse(std::string_view text);
    /// From the 4 bytes of an IPv4 address / the 16 of an IPv6 one (network order); an
    /// IPv4-mapped IPv6 address is then IPv4.
    static ip_address from_v4(const std::array<std::uint8_t, 4>& bytes);
    static ip_address from_v6(const std::array<std::uint8_t, 16>& bytes);

    friend bool operator==(const ip_address&, const ip_address&) = default;
};

/// The key the per-address limits count on: the IPv4 address in dotted form, or the IPv6
/// address's /64 prefix in RFC 5952 form with "/64" appended.
std::string client_key(const ip_address& address);

/// A set of CIDR ranges; empty (the default) trusts nobody.
class trusted_proxies {
  public:
    trusted_proxies() = default;

    /// Each entry "ADDRESS" or "ADDRESS/PREFIX" (IPv4 prefix 0..32, IPv6 0..128); blanks
    /// around an entry and empty entries are ignored; host bits below the prefix are
    /// ignored. Throws std::invalid_argument naming the first malformed entry.
    explicit trusted_proxies(const std::vector<std::string>& cidrs);

    bool empty() const { return ranges_.empty(); }
    bool contains(const ip_address& address) const;

  private:
    struct range {
        ip_address base;      ///< masked to `prefix` bits
        unsigned prefix = 0;  ///< in bits of the 128-bit (IPv4-mapped) form
    };
    std::vector<range> ranges_;
};

/// The client behind the trusted proxy `peer` (the caller has checked it is trusted):
/// X-Forwarded-For is walked from the right; the first entry that is not itself trusted
/// is the client. When every entry is trusted, the left-most; a malformed entry ends the
/// walk (the last well-formed entry seen, else the peer); no entries: the peer.
/// `forwarded_for` holds the header's values in order (several header lines form one
/// list, RFC 9110 §5.3).
ip_address forwarded_client(const ip_address& peer, const std::vector<std::string_view>& forwarded_for,
                            const trusted_proxies& proxies);

}  // namespace bsocial::http
