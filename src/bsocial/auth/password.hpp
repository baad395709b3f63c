#pragma once
// Argon2id password hashing (libsodium crypto_pwhash_str) on its own small pool of
// threads (docs/security.md, item 1): the HTTP server's blocking pool, which serves every
// SQL read, never computes a hash. Each hash takes 64 MiB, so `threads` hashes run at once
// and at most `queue_bound` more wait; beyond that hash() and verify() refuse at once with
// error{unavailable} (503 + Retry-After) instead of queueing without end. The pool's
// threads run at a lower CPU priority (nice +10) than the rest of the process, so reads
// keep their share of the CPU while hashes run. Thread-safe. Call init_crypto() first.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

namespace bsocial::auth {

struct hasher_options {
    int threads = 2;       ///< hashes computed at once
    int queue_bound = 16;  ///< hashes allowed to wait for a thread; more are refused (503)
    /// Argon2id cost of new hashes. The defaults are libsodium's "interactive" profile
    /// (t=2, m=64 MiB); no setting changes them. Only unit tests lower them (to libsodium's
    /// minimum), so that a test that registers users takes microseconds, not 100 ms each.
    unsigned long long ops_limit = 2;
    std::size_t mem_limit = std::size_t{64} << 20;
};

class password_hasher {
  public:
    explicit password_hasher(hasher_options options = {});
    ~password_hasher();
    password_hasher(const password_hasher&) = delete;
    password_hasher& operator=(const password_hasher&) = delete;

    /// Most callers blocked in hash()/verify() at any moment: threads + queue_bound.
    int max_waiting_callers() const { return options_.threads + options_.queue_bound; }
    /// Since start: hashes refused because the queue was full, hashes computed,
    /// verifications run (real or dummy). For /metrics.
    std::uint64_t refused_total() const;
    std::uint64_t hashed_total() const;
    std::uint64_t verified_total() const;
    /// Its /metrics lines: the three counters above.
    std::string metrics() const;

    /// A new "$argon2id$..." string with a fresh random salt.
    std::string hash(std::string_view password);

    /// Constant-time verification of `password` against a stored hash.
    bool verify(std::string_view stored_hash, std::string_view password);

    /// Verifies against a dummy hash and discards the result, so that an unknown login
    /// costs the same time as a wrong password.
    void verify_dummy(std::string_view password);

  private:
    struct job {
        const std::function<void()>& body;
        std::exception_ptr failure;
        bool done;
    };
    /// Runs `body` on the pool and waits for it; throws error{unavailable} when full.
    void run(const std::function<void()>& body);
    void work();

    hasher_options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;  ///< a job was queued (or stopping)
    std::condition_variable done_;  ///< a job finished
    std::deque<job*> queue_;
    int admitted_ = 0;  ///< queued + running
    std::uint64_t refused_ = 0;
    std::uint64_t hashed_ = 0;
    std::uint64_t verified_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
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
