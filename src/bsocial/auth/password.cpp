#include "bsocial/auth/password.hpp"

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "bsocial/core/random.hpp"

namespace bsocial::auth {

namespace {
// libsodium's "interactive" Argon2id profile: t=2, m=64 MiB (above OWASP's 19 MiB floor).
constexpr unsigned long long ops_limit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr std::size_t mem_limit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

class slot_guard {
  public:
    explicit slot_guard(std::counting_semaphore<64>& s) : s_(s) { s_.acquire(); }
    ~slot_guard() { s_.release(); }
    slot_guard(const slot_guard&) = delete;
    slot_guard& operator=(const slot_guard&) = delete;

  private:
    std::counting_semaphore<64>& s_;
};
}  // namespace

password_hasher::password_hasher(std::size_t max_concurrent)
    : slots_(static_cast<std::ptrdiff_t>(std::clamp<std::size_t>(max_concurrent, 1, 64))) {
    dummy_hash_ = hash(random_hex(16));
}

std::string password_hasher::hash(std::string_view password) {
    char out[crypto_pwhash_STRBYTES];
    slot_guard guard(slots_);
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops_limit, mem_limit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("out of memory while hashing a password");
    return out;
}

bool password_hasher::verify(std::string_view stored_hash, std::string_view password) {
    const std::string h(stored_hash);  // needs a NUL-terminated string
    slot_guard guard(slots_);
    return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

void password_hasher::verify_dummy(std::string_view password) {
    (void)verify(dummy_hash_, password);
}

common_passwords common_passwords::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read the common-password list " + path);
    common_passwords list;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.rfind("#!", 0) == 0) continue;
        list.add(line);
    }
    if (list.size() == 0) throw std::runtime_error("the common-password list is empty: " + path);
    return list;
}

bool common_passwords::contains(std::string_view password) const {
    return words_.count(lower_ascii(password)) != 0;
}

void common_passwords::add(std::string_view word) { words_.insert(lower_ascii(word)); }

}  // namespace bsocial::auth
