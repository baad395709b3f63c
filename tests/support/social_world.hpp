#pragma once
// The social domain wired as `serve` wires it, for unit tests: an in-memory SQLite
// database with the migrations applied, a clock the test moves by hand, and an Argon2id
// hasher at libsodium's minimum cost (auth/password.hpp). No threads are started (the
// fan-out runs when the test calls run_once()), nothing sleeps.

#include <gtest/gtest.h>
#include <soci/soci.h>
#include <sodium.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "bsocial/auth/jwt.hpp"
#include "bsocial/auth/login_guard.hpp"
#include "bsocial/auth/password.hpp"
#include "bsocial/auth/rate_limiter.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/core/error.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/social/accounts.hpp"
#include "bsocial/social/fanout.hpp"
#include "bsocial/social/graph.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::testing {

/// A clock that only moves when the test says so.
class manual_clock final : public clock {
  public:
    explicit manual_clock(std::int64_t start_ms = 1'790'000'000'000) : now_(start_ms) {}
    std::int64_t now_ms() const override { return now_; }
    void advance_ms(std::int64_t ms) { now_ += ms; }
    void advance_seconds(std::int64_t s) { now_ += 1000 * s; }

  private:
    std::int64_t now_;
};

struct world_options {
    social::timeline_settings timelines{};
    int registrations_per_minute = 1000;
    int registration_burst = 1000;
    int login_identifier_ceiling = 100;
};

/// Everything the domain needs, owned in the order `serve` builds it.
class social_world {
  public:
    static constexpr int max_login_failures = 5;
    static constexpr std::int64_t login_window_seconds = 900;
    static constexpr std::int64_t token_ttl_seconds = 3600;
    static constexpr const char* password = "correct horse battery";

    explicit social_world(world_options options = {})
        : db(make_database(db_file.path)),
          hasher({.threads = 1,
                  .queue_bound = 4,
                  .ops_limit = crypto_pwhash_OPSLIMIT_MIN,
                  .mem_limit = crypto_pwhash_MEMLIMIT_MIN}),
          tokens(std::string(32, 'k'), clock, token_ttl_seconds),
          logins(clock, {.max_failures = max_login_failures,
                         .window_seconds = login_window_seconds,
                         .identifier_ceiling = options.login_identifier_ceiling}),
          registrations(clock, options.registrations_per_minute, options.registration_burst),
          accounts(*db, hasher, logins, registrations, common, clock),
          sessions(*db, tokens, clock),
          timelines(*db, options.timelines),
          graph(*db, timelines, clock),
          posts(*db, timelines, clock),
          fanout(*db, timelines, clock) {}

    /// A registered user with `password`; names derived from the username.
    social::user add_user(const std::string& username) {
        social::registration r;
        r.first_name = "First " + username;
        r.last_name = "Last " + username;
        r.username = username;
        r.email = username + "@example.com";
        r.password = password;
        r.password_confirmation = password;
        clock.advance_ms(1);
        return accounts.register_user(std::move(r), "192.0.2.1");
    }

    /// A login as POST /api/v1/sessions does it: the credentials, then a session.
    struct logged_in {
        social::user who;
        auth::issued_token token;
    };
    logged_in log_in(const std::string& login, const std::string& with_password = password,
                     const std::string& client_address = "192.0.2.1") {
        auto who = accounts.check_credentials(login, with_password, client_address);
        auto token = sessions.open(who);
        return {std::move(who), std::move(token)};
    }

    /// The caller as the API sees it after a login.
    sessions::identity sign_in(const std::string& username) {
        auto result = log_in(username);
        return {result.who, result.token.claims};
    }

    /// Runs the fan-out worker's batches until its queue is empty.
    void drain_fanout() {
        while (fanout.run_once() > 0) {
        }
    }

    /// A COUNT(*) or other single integer.
    std::int64_t scalar(const std::string& query) {
        bsocial::store::lease sql_lease(db->requests());
        soci::session& sql = *sql_lease;
        std::int64_t n = 0;
        sql << query, soci::into(n);
        return n;
    }

    /// Outbox rows of one event type ("post.created", ...).
    std::int64_t events_of_type(const std::string& type) {
        bsocial::store::lease sql_lease(db->requests());
        soci::session& sql = *sql_lease;
        std::int64_t n = 0;
        sql << "SELECT COUNT(*) FROM outbox WHERE event_type = :t", soci::into(n), soci::use(type);
        return n;
    }

    manual_clock clock;
    /// A file, not ":memory:": the fan-out owns a connection of its own (issue 22), and an
    /// in-memory SQLite database belongs to one connection. Removed with the world.
    struct temp_file {
        std::string path = (std::filesystem::temp_directory_path() /
                            ("social-world-" + random_hex(8) + ".db"))
                               .string();
        ~temp_file() {
            for (const char* suffix : {"", "-wal", "-shm"})
                std::filesystem::remove(path + suffix);
        }
    } db_file;
    std::unique_ptr<store::database> db;
    auth::password_hasher hasher;
    auth::common_passwords common = default_common();
    auth::token_service tokens;
    auth::login_guard logins;
    auth::rate_limiter registrations;
    social::accounts accounts;
    sessions::session_service sessions;
    social::timelines timelines;
    social::graph graph;
    social::posts posts;
    social::timeline_fanout fanout;

  private:
    static std::unique_ptr<store::database> make_database(const std::string& path) {
        init_crypto();
        // One request connection: a test must not hold a lease while it calls the domain
        // or a helper here (it would wait for the connection forever): scope it in a block.
        auto db = std::make_unique<store::database>("sqlite:" + path, 1);
        db->migrate();
        return db;
    }
    static auth::common_passwords default_common() {
        auth::common_passwords c;
        c.add("password123");
        c.add("qwertyuiop");
        return c;
    }
};

/// The error a call throws; fails the test when it throws none.
template <class F>
bsocial::error error_of(F&& f) {
    try {
        f();
    } catch (const bsocial::error& e) {
        return e;
    }
    ADD_FAILURE() << "no bsocial::error thrown";
    return bsocial::error(error_code::internal_error, "none");
}

}  // namespace bsocial::testing
