#pragma once
// Argon2id password hashing (libsodium crypto_pwhash_str). Each hash takes `memlimit`
// bytes (64 MiB by default), so at most `max_concurrent` hashes run at once: memory stays
// bounded however many logins arrive. Thread-safe. Call init_crypto() first.

#include <cstddef>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_set>

namespace bsocial::auth {

class password_hasher {
  public:
    explicit password_hasher(std::size_t max_concurrent = 2);

    /// A new "$argon2id$..." string with a fresh random salt.
    std::string hash(std::string_view password);

    /// Constant-time verification of `password` against a stored hash.
    bool verify(std::string_view stored_hash, std::string_view password);

    /// Verifies against a dummy hash and discards the result, so that an unknown login
    /// costs the same time as a wrong password (security checklist S5).
    void verify_dummy(std::string_view password);

  private:
    std::counting_semaphore<64> slots_;
    std::string dummy_hash_;
};

/// The common-password list (Debian john-data's password.lst, "#!" lines are comments),
/// compared case-insensitively.
class common_passwords {
  public:
    common_passwords() = default;
    /// Throws std::runtime_error when the file cannot be read or is empty.
    static common_passwords load(const std::string& path);

    bool contains(std::string_view password) const;
    std::size_t size() const { return words_.size(); }
    void add(std::string_view word);

  private:
    std::unordered_set<std::string> words_;
};

}  // namespace bsocial::auth
