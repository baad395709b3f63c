#include "bsocial/telemetry/document.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

using namespace bsocial::telemetry;
namespace json = boost::json;

namespace {
const index_names indices{"bsocial-events", "bsocial-events-deadletter"};
constexpr std::int64_t now = 1'795'860'930'123;  // 2026-11-28T10:15:30.123Z

source_message message(std::string payload) {
    return source_message{"bsocial.comments", 2, 41, "7", std::move(payload), true};
}

const std::string comment =
    R"({"id":"0b9d7c1e-8c2a-4f7e-9a51-3a0f5b6c7d8e","type":"comment.created","version":1,)"
    R"("occurred_at":"2026-11-28T09:00:00.000Z","data":{"comment_id":"12","post_id":"7",)"
    R"("post_author_id":"3","user_id":"4","username":"bob","email":"bob@example.com",)"
    R"("content":"hi","created_at":"2026-11-28T09:00:00.000Z","extra":"kept in data"}})";
}  // namespace

TEST(Document, EventBecomesAFlatDocumentKeyedByEventId) {
    const auto a = to_index_action(message(comment), indices, now);
    ASSERT_FALSE(a.dead_letter) << a.reason;
    EXPECT_EQ(a.index, "bsocial-events-2026.11");  // the month of occurred_at
    EXPECT_EQ(a.id, "0b9d7c1e-8c2a-4f7e-9a51-3a0f5b6c7d8e");
    const auto doc = json::parse(a.source).as_object();
    EXPECT_EQ(doc.at("event_id").as_string(), a.id);
    EXPECT_EQ(doc.at("type"), "comment.created");
    EXPECT_EQ(doc.at("occurred_at"), "2026-11-28T09:00:00.000Z");
    EXPECT_EQ(doc.at("ingested_at"), "2026-11-28T10:15:30.123Z");
    EXPECT_EQ(doc.at("post_id"), "7");
    EXPECT_EQ(doc.at("post_author_id"), "3");
    EXPECT_EQ(doc.at("user_id"), "4");
    EXPECT_FALSE(doc.contains("created_at"));  // = occurred_at; stays in data only
    EXPECT_FALSE(doc.contains("extra"));       // unknown fields never reach the strict mapping
    EXPECT_EQ(doc.at("data").at("extra"), "kept in data");
    EXPECT_EQ(doc.at("kafka").at("topic"), "bsocial.comments");
    EXPECT_EQ(doc.at("kafka").at("partition"), 2);
    EXPECT_EQ(doc.at("kafka").at("offset"), 41);
}

TEST(Document, PoisonBecomesADeadLetterKeyedByItsKafkaPosition) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"garbage", "payload is not JSON"},
        {"\xff\xfe", "payload is not UTF-8"},
        {"[1]", "payload is not a JSON object"},
        {R"({"type":"post.created","version":1,"occurred_at":"x","data":{}})",
         "envelope lacks \"id\""},
        {R"({"id":"a","type":"post.exploded","version":1,"occurred_at":"x","data":{}})",
         "unknown event type \"post.exploded\""},
        {R"({"id":"a","type":"user.logged_out","version":2,"occurred_at":"x","data":{}})",
         "unsupported envelope version (expected 1)"},
        {R"({"id":"a","type":"user.logged_out","version":1,"occurred_at":"x","data":{"user_id":"1"}})",
         "data lacks \"username\""},
        {R"({"id":"a","type":"user.logged_out","version":1,"occurred_at":"x","data":{"user_id":"u1","username":"x","logged_out_at":"x"}})",
         "data \"user_id\" is not an id (digits)"},
    };
    for (const auto& [payload, reason] : cases) {
        const auto a = to_index_action(message(payload), indices, now);
        EXPECT_TRUE(a.dead_letter) << payload;
        EXPECT_EQ(a.index, "bsocial-events-deadletter");
        EXPECT_EQ(a.id, "bsocial.comments:2:41");
        EXPECT_EQ(a.reason.substr(0, reason.size()), reason) << payload;
        const auto doc = json::parse(a.source).as_object();  // valid JSON even for \xff
        EXPECT_EQ(doc.at("payload_bytes").to_number<std::size_t>(), payload.size());
    }
    source_message tombstone = message("");
    tombstone.has_payload = false;
    EXPECT_EQ(to_index_action(tombstone, indices, now).reason, "empty message (tombstone)");
}

TEST(Document, SanitizeUtf8ReplacesOnlyBadBytes) {
    EXPECT_EQ(sanitize_utf8("ok é"), "ok é");
    EXPECT_EQ(sanitize_utf8("a\xff"
                            "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(sanitize_utf8("\xC3"), "\xEF\xBF\xBD");  // truncated sequence
}

namespace {
const index_names with_entities{"bsocial-events", "bsocial-events-deadletter",
                                "bsocial-events-entities"};

std::string post_event(std::string_view type, std::string_view extra) {
    return std::string(R"({"id":"e-)") + std::string(type) + R"(","type":")" + std::string(type) +
           R"(","version":1,"occurred_at":"2026-12-31T23:30:00.000-01:00","data":{"post_id":"5",)"
           R"("user_id":"3","username":"ada",)" + std::string(extra) + "}}";
}
}  // namespace

TEST(Document, PostsAndCommentsAlsoGetAnEntityDocumentThatADeletionOverwrites) {
    const auto created = to_index_actions(
        message(post_event("post.created", R"("email":"a@b.c","content":"x","created_at":"x")")),
        with_entities, now);
    ASSERT_EQ(created.size(), 2u);
    EXPECT_EQ(created[0].index, "bsocial-events-2027.01");  // the UTC month of occurred_at
    EXPECT_EQ(created[0].op, "create");
    EXPECT_EQ(created[1].index, "bsocial-events-entities");
    EXPECT_EQ(created[1].id, "post:5");
    EXPECT_EQ(created[1].op, "create");  // never overwrites a deletion
    auto doc = json::parse(created[1].source).as_object();
    EXPECT_EQ(doc.at("deleted"), false);
    EXPECT_EQ(doc.at("created_at"), "2026-12-31T23:30:00.000-01:00");

    const auto deleted =
        to_index_actions(message(post_event("post.deleted", R"("deleted_at":"x")")),
                         with_entities, now);
    ASSERT_EQ(deleted.size(), 2u);
    EXPECT_EQ(deleted[1].id, "post:5");
    EXPECT_EQ(deleted[1].op, "index");  // overwrites the creation, whatever came first
    doc = json::parse(deleted[1].source).as_object();
    EXPECT_EQ(doc.at("deleted"), true);
    EXPECT_EQ(doc.at("kind"), "post");

    const auto comment_gone = to_index_actions(
        message(R"({"id":"e9","type":"comment.deleted","version":1,"occurred_at":"2026-11-28T09:00:00Z",)"
                R"("data":{"comment_id":"12","post_id":"7","post_author_id":"3","user_id":"4",)"
                R"("username":"bob","deleted_at":"2026-11-28T09:00:00Z"}})"),
        with_entities, now);
    ASSERT_EQ(comment_gone.size(), 2u);
    EXPECT_EQ(comment_gone[1].id, "comment:12");
    EXPECT_EQ(comment_gone[1].op, "index");
    // A deletion without its ids is poison.
    const auto bad = to_index_actions(
        message(R"({"id":"e9","type":"comment.deleted","version":1,"occurred_at":"2026-11-28T09:00:00Z",)"
                R"("data":{"comment_id":"12","user_id":"4","username":"bob","deleted_at":"x"}})"),
        with_entities, now);
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_TRUE(bad[0].dead_letter);
    // A login gets no entity document.
    EXPECT_EQ(to_index_actions(message(comment), indices, now).size(), 1u);  // no entities index
}

TEST(Document, EventIndexIsTheUtcMonthOfOccurredAt) {
    EXPECT_EQ(event_index("ev", "2026-03-01T00:30:00+01:00", now), "ev-2026.02");
    EXPECT_EQ(event_index("ev", "1767225600000", now), "ev-2026.01");  // epoch ms
    EXPECT_EQ(event_index("ev", "yesterday", now), "ev-2026.11");      // now's month
}

TEST(Document, ALoginMarksItsUserDayAndTheNextDayWithIdempotentPartialUpdates) {
    const index_names all{"bsocial-events", "bsocial-events-deadletter", "bsocial-events-entities",
                          "bsocial-events-logins"};
    // 2026-11-30T23:40Z: slot 47 of Nov 30; Dec 1 is the next UTC day (and month)
    const std::string login =
        R"({"id":"5e0c8f9a-1b2c-4d3e-8f4a-5b6c7d8e9f00","type":"user.logged_in","version":1,)"
        R"("occurred_at":"2026-11-30T23:40:00.000Z","data":{"user_id":"42","username":"ada",)"
        R"("email":"ada@example.com","logged_in_at":"2026-11-30T23:40:00.000Z"}})";
    const auto actions = to_index_actions(message(login), all, now);
    ASSERT_EQ(actions.size(), 3u);
    EXPECT_EQ(actions[0].op, "create");  // the event
    const auto& day = actions[1];
    const auto& next = actions[2];
    EXPECT_EQ(day.op, "update");
    EXPECT_EQ(day.index, "bsocial-events-logins-2026.11");
    EXPECT_EQ(day.id, "42:2026-11-30");
    EXPECT_EQ(next.index, "bsocial-events-logins-2026.12");
    EXPECT_EQ(next.id, "42:2026-12-01");
    const auto d = json::parse(day.source).as_object();
    EXPECT_EQ(d.at("doc_as_upsert"), true);
    const auto& dd = d.at("doc").as_object();
    EXPECT_EQ(dd.at("user_id"), "42");
    EXPECT_EQ(dd.at("day"), "2026-11-30");
    EXPECT_EQ(dd.at("b48"), true);  // before the end of the day, and only b48 (slot 47)
    EXPECT_FALSE(dd.contains("b47"));
    EXPECT_EQ(dd.size(), 3u);
    const auto next_update = json::parse(next.source);
    const auto& nd = next_update.at("doc").as_object();
    EXPECT_EQ(nd.at("day"), "2026-12-01");
    EXPECT_EQ(nd.at("a0"), true);  // the day before, at or after every slot up to 47
    EXPECT_EQ(nd.at("a47"), true);
    EXPECT_FALSE(nd.contains("b48"));  // not a login of Dec 1
    EXPECT_EQ(nd.size(), 2u + 48u);
    // only fields set to true: a redelivery or any order gives the same document
    for (const auto& [k, v] : dd)
        if (k != "user_id" && k != "day") EXPECT_EQ(v, true);

    // at 00:00Z exactly: slot 0, so b1..b48 and a0
    const auto early = login_day_actions("l", "7", 1'796'083'200'000);  // 2026-12-01T00:00Z
    EXPECT_EQ(json::parse(early[0].source).at("doc").as_object().size(), 2u + 48u);
    EXPECT_EQ(json::parse(early[1].source).at("doc").as_object().size(), 2u + 1u);
    // no logins index configured: the event alone
    EXPECT_EQ(to_index_actions(message(login), indices, now).size(), 1u);
}

TEST(Document, LoginDayFlagsFoldIntoOneUpdateThatSetsTheUnion) {
    // 2026-12-01T10:10Z is slot 20, 2026-12-01T03:00Z slot 6
    const auto late = login_day_actions("l", "7", 1'796'083'200'000 + 10 * 3'600'000 + 600'000);
    const auto early = login_day_actions("l", "7", 1'796'083'200'000 + 3 * 3'600'000);
    EXPECT_EQ(late[0].login_day, (login_day_flags{21, -1}));  // b21..b48 on Dec 1
    EXPECT_EQ(late[1].login_day, (login_day_flags{49, 20}));  // a0..a20 on Dec 2
    EXPECT_EQ(early[0].login_day, (login_day_flags{7, -1}));
    // the later login of the day sets a subset of the earlier one's b flags, a superset of
    // its a flags: only the a side of it is news
    EXPECT_TRUE(early[0].login_day.covers(late[0].login_day));
    EXPECT_FALSE(early[1].login_day.covers(late[1].login_day));
    auto both = early[1].login_day;
    both.merge(late[1].login_day);
    EXPECT_EQ(both, late[1].login_day);
    auto day = late[0].login_day;
    day.merge(early[0].login_day);
    day.merge(login_day_flags{49, 3});  // a flags from the day before's login
    EXPECT_EQ(day, (login_day_flags{7, 3}));
    // the source of a folded update: exactly the flags of the union, nothing else
    const auto src = json::parse(login_day_source("7:2026-12-01", day));
    EXPECT_EQ(src.at("doc_as_upsert"), true);
    const auto& doc = src.at("doc").as_object();
    EXPECT_EQ(doc.at("user_id"), "7");
    EXPECT_EQ(doc.at("day"), "2026-12-01");
    EXPECT_EQ(doc.size(), 2u + 42u + 4u);  // b7..b48, a0..a3
    EXPECT_TRUE(doc.contains("b7") && doc.contains("b48") && doc.contains("a0") &&
                doc.contains("a3"));
    EXPECT_FALSE(doc.contains("b6") || doc.contains("a4"));
    // one login's source is the one login_day_actions made
    EXPECT_EQ(login_day_source(late[0].id, late[0].login_day), late[0].source);
    EXPECT_EQ(login_day_source(late[1].id, late[1].login_day), late[1].source);
    EXPECT_TRUE(login_day_flags{}.empty());
    EXPECT_TRUE(late[0].login_day.covers(login_day_flags{}));
}

TEST(Document, LoginDayMemoryKnowsTheAcknowledgedFlagsOfTheMostRecentDocuments) {
    login_day_memory memory(2);
    EXPECT_TRUE(memory.known("1:2026-12-01").empty());
    memory.remember("1:2026-12-01", {21, -1});
    memory.remember("1:2026-12-01", {49, 5});  // another acknowledged update: the union
    EXPECT_EQ(memory.known("1:2026-12-01"), (login_day_flags{21, 5}));
    EXPECT_TRUE(memory.known("1:2026-12-01").covers({30, 2}));
    EXPECT_FALSE(memory.known("1:2026-12-01").covers({20, -1}));  // an earlier login: news
    memory.remember("2:2026-12-01", {1, -1});
    EXPECT_EQ(memory.known("1:2026-12-01"), (login_day_flags{21, 5}));  // used: most recent
    memory.remember("3:2026-12-01", {1, -1});  // over capacity: 2 (least recent) goes
    EXPECT_EQ(memory.size(), 2u);
    EXPECT_TRUE(memory.known("2:2026-12-01").empty());
    EXPECT_EQ(memory.known("1:2026-12-01"), (login_day_flags{21, 5}));
    memory.forget_all();
    EXPECT_EQ(memory.size(), 0u);
    EXPECT_TRUE(memory.known("1:2026-12-01").empty());
    login_day_memory none(0);  // capacity 0: remembers nothing
    none.remember("1:2026-12-01", {1, 47});
    EXPECT_TRUE(none.known("1:2026-12-01").empty());
}

TEST(Document, EventDocumentsCopyOnlyWhatIsSearchedTheRestStaysInData) {
    const auto a = to_index_action(message(comment), indices, now);
    const auto doc = json::parse(a.source).as_object();
    EXPECT_EQ(doc.at("username"), "bob");
    EXPECT_FALSE(doc.contains("email"));
    EXPECT_FALSE(doc.contains("content"));
    EXPECT_EQ(doc.at("data").at("email"), "bob@example.com");
    EXPECT_EQ(doc.at("data").at("content"), "hi");
}
