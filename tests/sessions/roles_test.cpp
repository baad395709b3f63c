#include "bsocial/sessions/roles.hpp"

#include <gtest/gtest.h>

#include "support/social_world.hpp"

using namespace bsocial;
using bsocial::testing::social_world;
using kind = sessions::bootstrap_outcome::kind;

// Issue 24, item 1: on main, BSOCIAL_ADMINS=late made whoever registered `late` after the
// start an administrator.
TEST(Roles, ANameRegisteredAfterItWasListedGrantsNothingEvenAtALaterStart) {
    social_world w;
    const auto early = w.add_user("early");
    auto first = sessions::bootstrap_admins(*w.db, {"Early", "late", " "}, 1000);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].what, kind::granted);
    EXPECT_EQ(first[0].account_id, early.id);
    EXPECT_EQ(first[1].what, kind::nobody_holds_it);

    const auto late = w.add_user("late");  // an attacker takes the listed name
    const sessions::roles roles(*w.db, std::chrono::milliseconds(0));
    EXPECT_TRUE(roles.is_admin(early));
    EXPECT_FALSE(roles.is_admin(late));
    // A restart with the same list: the name was decided at its first listing.
    auto again = sessions::bootstrap_admins(*w.db, {"early", "late"}, 2000);
    EXPECT_EQ(again[0].what, kind::already_decided);
    EXPECT_EQ(again[1].what, kind::already_decided);
    EXPECT_FALSE(roles.is_admin(late));
    // Only the operator's command grants it.
    std::int64_t id = 0;
    EXPECT_EQ(sessions::grant_admin(*w.db, "late", 3000, &id), sessions::role_change::done);
    EXPECT_EQ(id, late.id);
    EXPECT_TRUE(roles.is_admin(late));
}

TEST(Roles, ARevocationSticksThoughTheNameStaysListed) {
    social_world w;
    const auto ada = w.add_user("ada");
    sessions::bootstrap_admins(*w.db, {"ada"}, 1000);
    const sessions::roles roles(*w.db, std::chrono::milliseconds(0));
    EXPECT_TRUE(roles.is_admin(ada));
    EXPECT_EQ(sessions::revoke_admin(*w.db, "ADA"), sessions::role_change::done);
    sessions::bootstrap_admins(*w.db, {"ada"}, 2000);  // the next start
    EXPECT_FALSE(roles.is_admin(ada));
}

TEST(Roles, GrantRevokeAndListSayWhatTheyDid) {
    social_world w;
    const auto bob = w.add_user("bob");
    w.add_user("ada");
    EXPECT_EQ(sessions::grant_admin(*w.db, "nobody", 1), sessions::role_change::no_such_user);
    EXPECT_EQ(sessions::revoke_admin(*w.db, "bob"), sessions::role_change::unchanged);
    EXPECT_EQ(sessions::grant_admin(*w.db, "bob", 5), sessions::role_change::done);
    EXPECT_EQ(sessions::grant_admin(*w.db, "Bob", 6), sessions::role_change::unchanged);
    EXPECT_EQ(sessions::grant_admin(*w.db, "ada", 7), sessions::role_change::done);
    const auto admins = sessions::list_admins(*w.db);
    ASSERT_EQ(admins.size(), 2u);
    EXPECT_EQ(admins[0].username, "ada");
    EXPECT_EQ(admins[1].username, "bob");
    EXPECT_EQ(admins[1].id, bob.id);
    EXPECT_EQ(admins[1].granted_at, 5);
    EXPECT_EQ(sessions::revoke_admin(*w.db, "bob"), sessions::role_change::done);
    EXPECT_EQ(sessions::list_admins(*w.db).size(), 1u);
}

TEST(Roles, AGrantIsSeenOnceTheCachedAnswerIsOlderThanItsTtl) {
    social_world w;
    const auto ada = w.add_user("ada");
    const sessions::roles roles(*w.db, std::chrono::milliseconds(150));
    EXPECT_FALSE(roles.is_admin(ada));
    sessions::grant_admin(*w.db, "ada", 1);  // e.g. another process: `bsocial admin grant`
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(roles.is_admin(ada));
}
