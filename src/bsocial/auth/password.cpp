#include "bsocial/auth/password.hpp"

#include <sodium.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <stdexcept>

#include "bsocial/core/error.hpp"
#include "bsocial/core/prometheus.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/core/text.hpp"

namespace bsocial::auth {

namespace {
// The default cost is libsodium's "interactive" Argon2id profile: t=2, m=64 MiB (above
// OWASP's 19 MiB floor).
static_assert(hasher_options{}.ops_limit == crypto_pwhash_OPSLIMIT_INTERACTIVE);
static_assert(hasher_options{}.mem_limit == crypto_pwhash_MEMLIMIT_INTERACTIVE);

std::string hash_now(std::string_view password, unsigned long long ops_limit,
                     std::size_t mem_limit) {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops_limit, mem_limit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("out of memory while hashing a password");
    return out;
}

}  // namespace

password_hasher::password_hasher(hasher_options options) : options_(options) {
    options_.threads = std::clamp(options_.threads, 1, 64);
    options_.queue_bound = std::max(0, options_.queue_bound);
    dummy_hash_ = hash_now(random_hex(16), options_.ops_limit, options_.mem_limit);
    for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { work(); });
}

password_hasher::~password_hasher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

void password_hasher::work() {
    // Below the rest of the process: under CPU contention the scheduler favours the threads
    // that serve reads (Linux: a thread's nice value is its own).
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        job* j = queue_.front();
        queue_.pop_front();
        lock.unlock();
        try {
            j->body();
        } catch (...) {
            j->failure = std::current_exception();
        }
        lock.lock();
        // The caller frees *j once it sees done, so *j is not touched after this.
        j->done = true;
        --admitted_;
        done_.notify_all();
    }
}

void password_hasher::run(const std::function<void()>& body) {
    job j{body, nullptr, false};
    std::unique_lock lock(mutex_);
    if (admitted_ >= max_waiting_callers()) {
        ++refused_;
        error e(error_code::unavailable, "the server is busy hashing passwords; try again");
        e.retry_after_seconds = 1;
        throw e;
    }
    ++admitted_;
    queue_.push_back(&j);
    wake_.notify_one();
    done_.wait(lock, [&] { return j.done; });
    if (j.failure) std::rethrow_exception(j.failure);
}

std::uint64_t password_hasher::refused_total() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

std::uint64_t password_hasher::hashed_total() const {
    std::lock_guard lock(mutex_);
    return hashed_;
}

std::uint64_t password_hasher::verified_total() const {
    std::lock_guard lock(mutex_);
    return verified_;
}

std::string password_hasher::hash(std::string_view password) {
    std::string out;
    run([&] { out = hash_now(password, options_.ops_limit, options_.mem_limit); });
    std::lock_guard lock(mutex_);
    ++hashed_;
    return out;
}

bool password_hasher::verify(std::string_view stored_hash, std::string_view password) {
    const std::string h(stored_hash);  // needs a NUL-terminated string
    bool ok = false;
    run([&] { ok = crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0; });
    std::lock_guard lock(mutex_);
    ++verified_;
    return ok;
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
    return words_.count(ascii_lower(password)) != 0;
}

void common_passwords::add(std::string_view word) { words_.insert(ascii_lower(word)); }

std::string password_hasher::metrics() const {
    return prometheus_metric("bsocial_password_hashes_total", "counter",
                             "Argon2id hashes computed (registrations).",
                             static_cast<double>(hashed_total())) +
           prometheus_metric("bsocial_password_verifications_total", "counter",
                             "Argon2id verifications run (logins, unknown users included).",
                             static_cast<double>(verified_total())) +
           prometheus_metric("bsocial_password_hash_refused_total", "counter",
                             "Hashes refused with 503 because the hashing queue was full.",
                             static_cast<double>(refused_total()));
}

}  // namespace bsocial::auth
