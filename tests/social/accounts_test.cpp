// social::accounts on an in-memory SQLite with a manual clock: registration, and the
// credential check of a login with its limits. Sessions (tokens, logout) are
// tests/sessions.

#include "bsocial/social/accounts.hpp"

#include <gtest/gtest.h>

#include "bsocial/core/error.hpp"
#include "bsocial/social/user_rows.hpp"
#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::error_of;
using bsocial::testing::social_world;
using bsocial::testing::world_options;

social::registration valid(const std::string& username) {
    return {"Ada",
            "Lovelace",
            username,
            username + "@example.com",
            social_world::password,
            social_world::password};
}

class Accounts : public ::testing::Test {
  protected:
    social_world w;
};
}  // namespace

TEST_F(Accounts, RegisterNormalisesAndStoresTheUserWithAnArgon2idHash) {
    auto in = valid("  Ada_L ");
    in.email = " Ada.L@Example.COM ";
    in.first_name = "  Ada ";
    const std::int64_t now = w.clock.now_ms();
    const auto u = w.accounts.register_user(in, "192.0.2.7");

    EXPECT_GT(u.id, 0);
    EXPECT_EQ(u.username, "ada_l");
    EXPECT_EQ(u.email, "ada.l@example.com");
    EXPECT_EQ(u.first_name, "Ada");
    EXPECT_EQ(u.last_name, "Lovelace");
    EXPECT_EQ(u.created_at, now);

    std::string hash;
    {
        bsocial::store::lease sql_lease(w.db->requests());
        soci::session& sql = *sql_lease;
        const auto stored = social::detail::find_user_by_username(sql, "ada_l");
        ASSERT_TRUE(stored);
        EXPECT_EQ(stored->id, u.id);
        EXPECT_EQ(stored->email, "ada.l@example.com");
        EXPECT_EQ(stored->created_at, now);
        sql << "SELECT password_hash FROM users WHERE id = :id", soci::into(hash), soci::use(u.id);
    }
    EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
    EXPECT_EQ(hash.find(social_world::password), std::string::npos);
    EXPECT_EQ(w.events_of_type("user.registered"), 1);
}

TEST(AccountsHasher, ProductionKeepsTheInteractiveProfileOnlyTestsLowerIt) {
    init_crypto();
    auth::password_hasher production({.threads = 1});
    const auto strong = production.hash("correct horse battery");
    EXPECT_NE(strong.find("$m=65536,t=2,"), std::string::npos) << strong;
    social_world w;  // the unit tests' hasher
    const auto cheap = w.hasher.hash("correct horse battery");
    EXPECT_NE(cheap.find("$m=8,t=1,"), std::string::npos) << cheap;
    EXPECT_TRUE(production.verify(cheap, "correct horse battery"))
        << "the cost is read from the stored hash";
}

TEST_F(Accounts, FindUserByUsernameIsNulloptForAnUnknownName) {
    bsocial::store::lease sql_lease(w.db->requests());
    soci::session& sql = *sql_lease;
    EXPECT_FALSE(social::detail::find_user_by_username(sql, "nobody"));
}

TEST_F(Accounts, RegisterReportsEveryInvalidFieldAtOnceAndStoresNothing) {
    social::registration in{"", std::string(101, 'x'), "a!", "not-an-email", "short", "other"};
    const auto e = error_of([&] { w.accounts.register_user(in); });
    EXPECT_EQ(e.code(), error_code::validation_failed);
    EXPECT_EQ(e.fields(),
              (field_errors{
                  {"first_name", "is required"},
                  {"last_name", "must be at most 100 characters"},
                  {"username", "must be 3 to 30 characters: letters, digits and underscores"},
                  {"email", "must be a valid e-mail address"},
                  {"password", "must be at least 8 characters"},
                  {"password_confirmation", "does not match the password"},
              }));
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM users"), 0);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM outbox"), 0);
}

TEST_F(Accounts, RegisterRefusesACommonPasswordWhateverItsCase) {
    auto in = valid("ada");
    in.password = in.password_confirmation = "PassWord123";
    const auto e = error_of([&] { w.accounts.register_user(in); });
    EXPECT_EQ(e.code(), error_code::validation_failed);
    EXPECT_EQ(e.fields(),
              (field_errors{{"password", "is too common; choose a less guessable password"}}));
}

TEST_F(Accounts, RegisterRefusesATakenUsernameAndEmailWhateverTheirCase) {
    w.accounts.register_user(valid("ada"));
    auto again = valid("ADA");
    again.email = "ADA@example.com";
    const auto e = error_of([&] { w.accounts.register_user(again); });
    EXPECT_EQ(e.code(), error_code::already_exists);
    EXPECT_EQ(e.fields(),
              (field_errors{{"username", "is already taken"}, {"email", "is already registered"}}));

    auto other_name = valid("grace");
    other_name.email = "ada@example.com";
    EXPECT_EQ(error_of([&] { w.accounts.register_user(other_name); }).fields(),
              (field_errors{{"email", "is already registered"}}));
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM users"), 1);
    EXPECT_EQ(w.events_of_type("user.registered"), 1);
}

TEST(AccountsLimits, RegistrationsAreRateLimitedPerClientAddress) {
    social_world w(world_options{.registrations_per_minute = 2, .registration_burst = 2});
    w.accounts.register_user(valid("user1"), "198.51.100.1");
    w.accounts.register_user(valid("user2"), "198.51.100.1");
    const auto e = error_of([&] { w.accounts.register_user(valid("user3"), "198.51.100.1"); });
    EXPECT_EQ(e.code(), error_code::rate_limited);
    EXPECT_EQ(e.retry_after_seconds, 30);  // one token every 30 s at 2 per minute
    EXPECT_NO_THROW(w.accounts.register_user(valid("user4"), "198.51.100.2"))
        << "another address has its own budget";
    w.clock.advance_seconds(30);
    EXPECT_NO_THROW(w.accounts.register_user(valid("user3"), "198.51.100.1"));
}

TEST_F(Accounts, CredentialsByUsernameOrEmailIgnoreCaseAndSpaces) {
    const auto ada = w.add_user("ada");
    for (const std::string login : {"ada", " ADA ", "Ada@Example.com", " ada@example.com "}) {
        const auto who = w.accounts.check_credentials(login, social_world::password, "192.0.2.9");
        EXPECT_EQ(who.id, ada.id) << login;
        EXPECT_EQ(who.username, "ada");
        EXPECT_EQ(who.email, "ada@example.com");
    }
    EXPECT_EQ(w.events_of_type("user.logged_in"), 0) << "opening the session records the login";
}

TEST_F(Accounts, WrongPasswordAndUnknownLoginFailAlikeAndBothVerifyAHash) {
    w.add_user("ada");
    const auto before = w.hasher.verified_total();
    const auto wrong =
        error_of([&] { w.accounts.check_credentials("ada", "wrong password", "192.0.2.9"); });
    const auto unknown = error_of(
        [&] { w.accounts.check_credentials("nobody", social_world::password, "192.0.2.9"); });
    const auto empty =
        error_of([&] { w.accounts.check_credentials("", social_world::password, "192.0.2.9"); });
    for (const auto* e : {&wrong, &unknown, &empty}) {
        EXPECT_EQ(e->code(), error_code::invalid_credentials);
        EXPECT_STREQ(e->what(), "invalid login or password");
    }
    EXPECT_EQ(w.hasher.verified_total(), before + 3) << "an unknown login costs a verification";
    EXPECT_EQ(w.events_of_type("user.logged_in"), 0);
}

TEST_F(Accounts, AnAccountAndAddressPairIsLimitedSharedByUsernameAndEmail) {
    w.add_user("ada");
    for (int i = 0; i < social_world::max_login_failures; ++i) {
        const std::string login = i % 2 ? "ada@example.com" : "ada";
        EXPECT_EQ(error_of([&] {
                      w.accounts.check_credentials(login, "wrong password", "192.0.2.9");
                  }).code(),
                  error_code::invalid_credentials);
    }
    // That address is limited for this account, even with the right password (else it
    // could keep guessing)...
    const auto limited = error_of(
        [&] { w.accounts.check_credentials("ada", social_world::password, "192.0.2.9"); });
    EXPECT_EQ(limited.code(), error_code::rate_limited);
    EXPECT_GT(limited.retry_after_seconds, 0);
    EXPECT_LE(limited.retry_after_seconds, social_world::login_window_seconds);
    // ...and stays so for its e-mail too.
    EXPECT_EQ(error_of([&] {
                  w.accounts.check_credentials("ada@example.com", social_world::password,
                                               "192.0.2.9");
              }).code(),
              error_code::rate_limited);

    w.clock.advance_seconds(social_world::login_window_seconds + 1);
    EXPECT_NO_THROW(w.accounts.check_credentials("ada", social_world::password, "192.0.2.9"));
}

// Issue 24, item 2: on main, these failures locked ada out from every address.
TEST_F(Accounts, AnAttackerFromAnotherAddressCannotLockTheOwnerOut) {
    w.add_user("ada");
    for (int i = 0; i < 12; ++i)
        EXPECT_THROW(w.accounts.check_credentials("ada", "wrong password", "198.51.100.66"),
                     bsocial::error);
    EXPECT_EQ(error_of([&] {
                  w.accounts.check_credentials("ada", "another guess", "198.51.100.66");
              }).code(),
              error_code::rate_limited)
        << "the attacker is still limited";
    EXPECT_NO_THROW(w.accounts.check_credentials("ada", social_world::password, "203.0.113.5"));
}

TEST_F(Accounts, ASuccessfulLoginClearsTheAccountsFailures) {
    w.add_user("ada");
    for (int i = 0; i < social_world::max_login_failures - 1; ++i)
        EXPECT_THROW(w.accounts.check_credentials("ada", "wrong password", "192.0.2.9"),
                     bsocial::error);
    w.accounts.check_credentials("ada", social_world::password, "192.0.2.9");
    for (int i = 0; i < social_world::max_login_failures - 1; ++i)
        EXPECT_EQ(error_of([&] {
                      w.accounts.check_credentials("ada", "wrong password", "192.0.2.9");
                  }).code(),
                  error_code::invalid_credentials)
            << "failure " << i << " after the success";
}

TEST_F(Accounts, AClientAddressIsLimitedAcrossManyLogins) {
    w.add_user("ada");
    // 4x the per-pair limit, spread over unknown logins so no pair is limited.
    for (int i = 0; i < 4 * social_world::max_login_failures; ++i)
        EXPECT_THROW(
            w.accounts.check_credentials("guess" + std::to_string(i), "x", "198.51.100.66"),
            bsocial::error);
    const auto e = error_of(
        [&] { w.accounts.check_credentials("ada", social_world::password, "198.51.100.66"); });
    EXPECT_EQ(e.code(), error_code::rate_limited);
    EXPECT_NO_THROW(w.accounts.check_credentials("ada", social_world::password, "198.51.100.67"));
}
