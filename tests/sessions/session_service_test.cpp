// sessions::session_service on an in-memory SQLite with a manual clock: a session opened
// after a login, authenticate(), revoke() (logout) and the hub's revocation query.

#include "bsocial/sessions/session_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::social_world;

class Sessions : public ::testing::Test {
  protected:
    void SetUp() override { ada = w.add_user("ada"); }

    social_world w;
    social::user ada;
};

TEST_F(Sessions, OpenIssuesAVerifiableTokenForTheUserAndRecordsTheLogin) {
    const auto token = w.sessions.open(ada);
    EXPECT_EQ(token.claims.user_id, ada.id);
    EXPECT_EQ(token.claims.issued_at, w.clock.now_seconds());
    EXPECT_EQ(token.claims.expires_at, w.clock.now_seconds() + social_world::token_ttl_seconds);
    const auto verified = w.tokens.verify(token.token);
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified->jti, token.claims.jti);
    EXPECT_EQ(w.events_of_type("user.logged_in"), 1);
    EXPECT_NE(w.sessions.open(ada).claims.jti, token.claims.jti) << "one token id per session";
}

TEST_F(Sessions, AuthenticateReturnsTheCallerOfAValidToken) {
    const auto token = w.sessions.open(ada);
    const auto who = w.sessions.authenticate(token.token);
    ASSERT_TRUE(who);
    EXPECT_EQ(who->who.id, ada.id);
    EXPECT_EQ(who->who.username, "ada");
    EXPECT_EQ(who->who.email, "ada@example.com");
    EXPECT_EQ(who->who.first_name, "First ada");
    EXPECT_EQ(who->claims.jti, token.claims.jti);
}

TEST_F(Sessions, AuthenticateRefusesGarbageForgedForeignAndOrphanTokens) {
    const auto token = w.sessions.open(ada);
    EXPECT_FALSE(w.sessions.authenticate(""));
    EXPECT_FALSE(w.sessions.authenticate("not.a.token"));
    std::string forged = token.token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(w.sessions.authenticate(forged));
    const auth::token_service other_key(std::string(32, 'o'), w.clock, 3600);
    EXPECT_FALSE(w.sessions.authenticate(other_key.issue(ada.id).token));
    EXPECT_FALSE(w.sessions.authenticate(w.tokens.issue(ada.id + 100).token))
        << "a valid token of a user that does not exist";
}

TEST_F(Sessions, ATokenExpiresAfterItsLifetime) {
    const auto token = w.sessions.open(ada);
    w.clock.advance_seconds(social_world::token_ttl_seconds - 120);
    EXPECT_TRUE(w.sessions.authenticate(token.token)) << "still inside its lifetime";
    w.clock.advance_seconds(120 + 61);
    EXPECT_FALSE(w.sessions.authenticate(token.token));
}

TEST_F(Sessions, RevokeEndsThatSessionOnlyAndRecordsTheLogout) {
    const auto first = w.sign_in("ada");
    const auto second = w.log_in("ada");
    w.sessions.revoke(first);
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM revoked_tokens"), 1);
    EXPECT_TRUE(w.sessions.authenticate(second.token.token)) << "the other session stays";
    EXPECT_EQ(w.events_of_type("user.logged_out"), 1);
    EXPECT_NO_THROW(w.sessions.revoke(first)) << "twice is fine";
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM revoked_tokens"), 1);
}

TEST_F(Sessions, ARevokedTokenIsRefused) {
    const auto session = w.log_in("ada");
    const auto caller = w.sessions.authenticate(session.token.token);
    ASSERT_TRUE(caller);
    w.sessions.revoke(*caller);
    EXPECT_FALSE(w.sessions.authenticate(session.token.token));
}

TEST_F(Sessions, RevokeForgetsRevocationsADayAfterTheyExpired) {
    w.sessions.revoke(w.sign_in("ada"));
    w.clock.advance_seconds(social_world::token_ttl_seconds + 1);
    w.sessions.revoke(w.sign_in("ada"));
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM revoked_tokens"), 2) << "kept for skewed clocks";
    w.clock.advance_seconds(sessions::session_service::revocation_prune_margin_seconds);
    w.sessions.revoke(w.sign_in("ada"));
    EXPECT_EQ(w.scalar("SELECT COUNT(*) FROM revoked_tokens"), 2)
        << "the first token expired more than a day ago: its revocation is no longer needed";
}

// Issue 24, item 6: on main an instance whose clock ran ahead pruned the revocation of a
// token the other instances still accept.
TEST_F(Sessions, AnInstanceWithAClockAheadDoesNotForgetARevocationOthersNeed) {
    const auto session = w.log_in("ada");
    const auto caller = w.sessions.authenticate(session.token.token);
    ASSERT_TRUE(caller);
    w.sessions.revoke(*caller);
    bsocial::testing::manual_clock ahead(w.clock.now_ms() + 6 * 3600 * 1000);  // 6 h ahead
    sessions::session_service skewed(*w.db, w.tokens, ahead);
    skewed.revoke(w.sign_in("ada"));  // its logout prunes by its own clock
    EXPECT_FALSE(w.sessions.authenticate(session.token.token))
        << "the revoked token is accepted again by an instance with the right time";
}

TEST_F(Sessions, RevokedUnexpiredListsTheRevokedTokensUntilTheyExpire) {
    EXPECT_TRUE(w.sessions.revoked_unexpired().empty());
    const auto early = w.sign_in("ada");
    w.clock.advance_seconds(600);
    const auto late = w.sign_in("ada");
    const auto kept = w.sign_in("ada");
    w.sessions.revoke(early);
    w.sessions.revoke(late);

    auto revoked = w.sessions.revoked_unexpired();
    std::sort(revoked.begin(), revoked.end());
    std::vector<std::string> expected{early.claims.jti, late.claims.jti};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(revoked, expected) << "both logouts, not the session still open";
    EXPECT_EQ(std::count(revoked.begin(), revoked.end(), kept.claims.jti), 0);

    // The first token expires 600 s before the second: then only the second is listed.
    w.clock.advance_seconds(social_world::token_ttl_seconds - 600);
    EXPECT_EQ(w.sessions.revoked_unexpired(), std::vector<std::string>{late.claims.jti});
    w.clock.advance_seconds(600);
    EXPECT_TRUE(w.sessions.revoked_unexpired().empty());
}

}  // namespace

namespace {
/// The serve of a SQLite file checks sessions through a session_cache (sessions/session_cache.hpp).
class CachedSessions : public Sessions {
  protected:
    sessions::session_cache cache{100};
    sessions::session_service cached{*w.db, w.tokens, w.clock, &cache};
};
}  // namespace

TEST_F(CachedSessions, ASessionFoundInSqlIsThenCheckedFromMemory) {
    const auto token = w.sessions.open(ada);  // opened by another instance: not in this cache
    EXPECT_EQ(cache.size(), 0u);
    ASSERT_TRUE(cached.authenticate(token.token));
    EXPECT_EQ(cache.size(), 1u);
    // Revoked behind the cache's back (another process could not: one serve per file):
    // the cached check no longer reads SQL, which is what this shows.
    w.sessions.revoke(*w.sessions.authenticate(token.token));
    const auto who = cached.authenticate(token.token);
    ASSERT_TRUE(who);
    EXPECT_EQ(who->who.username, "ada");
    EXPECT_EQ(who->claims.jti, token.claims.jti);
}

TEST_F(CachedSessions, ASessionOpenedHereIsCachedAtOnce) {
    // A login's first request skips the session read (the cold path after a login).
    const auto token = cached.open(ada);
    EXPECT_EQ(cache.size(), 1u);
    w.sessions.revoke(*w.sessions.authenticate(token.token));  // behind the cache's back
    const auto who = cached.authenticate(token.token);
    ASSERT_TRUE(who) << "checked from memory, without reading SQL";
    EXPECT_EQ(who->claims.jti, token.claims.jti);
}

TEST_F(CachedSessions, LogoutEndsTheCachedSessionAtOnce) {
    const auto token = cached.open(ada);
    const auto other = cached.open(ada);
    const auto who = cached.authenticate(token.token);
    ASSERT_TRUE(who);
    ASSERT_TRUE(cached.authenticate(other.token));
    cached.revoke(*who);
    EXPECT_FALSE(cached.authenticate(token.token));
    EXPECT_TRUE(cached.authenticate(other.token)) << "only that session ends";
}

TEST_F(CachedSessions, SignatureAndExpiryAreCheckedEvenWhenCached) {
    const auto token = cached.open(ada);
    ASSERT_TRUE(cached.authenticate(token.token));
    std::string forged = token.token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(cached.authenticate(forged));
    w.clock.advance_seconds(social_world::token_ttl_seconds + 1);
    EXPECT_FALSE(cached.authenticate(token.token));
}

TEST(SessionCache, ARowReadBeforeARevocationIsNotKept) {
    sessions::session_cache cache(10);
    social::user ada;
    ada.id = 7;
    const auto before = cache.epoch();  // a check starts reading SQL...
    cache.revoked("jti-1");             // ...a logout commits meanwhile
    cache.put("jti-1", ada, before, 0);
    EXPECT_FALSE(cache.find("jti-1", 7, 0));
    cache.put("jti-1", ada, cache.epoch(), 0);
    EXPECT_TRUE(cache.find("jti-1", 7, 0));
    EXPECT_FALSE(cache.find("jti-1", 8, 0)) << "a token names its user";
}

TEST(SessionCache, LeastRecentlyUsedSessionsGoFirst) {
    sessions::session_cache cache(2);
    social::user u;
    u.id = 1;
    cache.put("a", u, cache.epoch(), 0);
    cache.put("b", u, cache.epoch(), 0);
    ASSERT_TRUE(cache.find("a", 1, 0));
    cache.put("c", u, cache.epoch(), 0);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_TRUE(cache.find("a", 1, 0));
    EXPECT_FALSE(cache.find("b", 1, 0));
    EXPECT_TRUE(cache.find("c", 1, 0));
}

namespace {
/// A PostgreSQL replica's cache: revocations come over the cluster bus; an entry is
/// believed for a bounded time after its read (the backstop for a lost message).
class ReplicaSessions : public Sessions {
  protected:
    static constexpr std::int64_t believe_ms = 2000;
    sessions::session_cache cache{100, believe_ms};
    sessions::session_service cached{*w.db, w.tokens, w.clock, &cache};
};
}  // namespace

TEST_F(ReplicaSessions, ARevocationWhoseMessageIsLostIsRefusedOnceTheEntryIsTooOld) {
    const auto token = cached.open(ada);
    ASSERT_TRUE(cached.authenticate(token.token));
    // Another replica revokes it; its "session.revoked" never arrives here.
    w.sessions.revoke(*w.sessions.authenticate(token.token));
    w.clock.advance_ms(believe_ms - 1);
    EXPECT_TRUE(cached.authenticate(token.token)) << "believed from memory until then";
    w.clock.advance_ms(1);
    EXPECT_FALSE(cached.authenticate(token.token)) << "read again from SQL, found revoked";
    std::optional<sessions::identity> who;
    EXPECT_EQ(cached.authenticate_in_memory(token.token, who),
              sessions::session_service::memory_check::needs_sql);
}

TEST_F(ReplicaSessions, TheBusMessageEndsTheSessionAtOnceAndAResyncForgetsEverySession) {
    const auto token = cached.open(ada);
    const auto other = cached.open(ada);
    ASSERT_TRUE(cached.authenticate(token.token));
    ASSERT_TRUE(cached.authenticate(other.token));
    w.sessions.revoke(*w.sessions.authenticate(token.token));
    cache.revoked(token.claims.jti);  // "session.revoked" from the other replica
    EXPECT_FALSE(cached.authenticate(token.token));
    std::optional<sessions::identity> who;
    EXPECT_EQ(cached.authenticate_in_memory(other.token, who),
              sessions::session_service::memory_check::found);
    cache.clear();  // the bus reconnected
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cached.authenticate_in_memory(other.token, who),
              sessions::session_service::memory_check::needs_sql);
    EXPECT_TRUE(cached.authenticate(other.token));
}

TEST_F(ReplicaSessions, AnEntryReadAgainIsBelievedAgainFromItsNewRead) {
    const auto token = cached.open(ada);
    ASSERT_TRUE(cached.authenticate(token.token));
    w.clock.advance_ms(believe_ms);
    ASSERT_TRUE(cached.authenticate(token.token));  // SQL again, kept again
    w.clock.advance_ms(believe_ms - 1);
    std::optional<sessions::identity> who;
    EXPECT_EQ(cached.authenticate_in_memory(token.token, who),
              sessions::session_service::memory_check::found);
}

TEST_F(ReplicaSessions, TheLastUseDueToBeWrittenSendsTheRequestToSql) {
    // A minute on, with the entry still believed (a long belief), the I/O thread hands the
    // request to the pool, whose check writes the last use.
    const auto token = cached.open(ada);
    std::optional<sessions::identity> who;
    sessions::session_cache long_cache{100, 10 * sessions::session_service::last_use_interval_ms};
    sessions::session_service service{*w.db, w.tokens, w.clock, &long_cache};
    ASSERT_TRUE(service.authenticate(token.token));
    EXPECT_EQ(service.authenticate_in_memory(token.token, who),
              sessions::session_service::memory_check::found);
    w.clock.advance_ms(sessions::session_service::last_use_interval_ms);
    EXPECT_EQ(service.authenticate_in_memory(token.token, who),
              sessions::session_service::memory_check::needs_sql);
    ASSERT_TRUE(service.authenticate(token.token));  // writes it
    EXPECT_EQ(service.authenticate_in_memory(token.token, who),
              sessions::session_service::memory_check::found);
}

TEST(SessionCache, AnEntryIsBelievedForItsBoundedTimeFromTheRead) {
    sessions::session_cache cache(10, 500);
    social::user ada;
    ada.id = 7;
    cache.put("jti-1", ada, cache.epoch(), 1000);
    EXPECT_TRUE(cache.find("jti-1", 7, 1499));
    EXPECT_FALSE(cache.find("jti-1", 7, 1500));
    EXPECT_EQ(cache.size(), 0u) << "dropped once too old";
    sessions::session_cache forever(10);
    forever.put("jti-1", ada, forever.epoch(), 0);
    EXPECT_TRUE(forever.find("jti-1", 7, std::int64_t{1} << 50)) << "SQLite: until revoked";
}

TEST(SessionCache, ARowReadBeforeAClearIsNotKept) {
    sessions::session_cache cache(10, 500);
    social::user ada;
    ada.id = 7;
    const auto before = cache.epoch();
    cache.clear();
    cache.put("jti-1", ada, before, 0);
    EXPECT_FALSE(cache.find("jti-1", 7, 0));
}
