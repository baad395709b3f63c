#include "bsocial/social/people.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "bsocial/auth/base64url.hpp"
#include "bsocial/core/error.hpp"
#include "bsocial/core/parse.hpp"
#include "bsocial/core/utf8.hpp"
#include "bsocial/social/cursor.hpp"
#include "bsocial/social/graph.hpp"
#include "bsocial/social/paging.hpp"
#include "bsocial/social/search_keys.hpp"
#include "bsocial/social/sql.hpp"
#include "bsocial/social/user_rows.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::social {

namespace {

// ---- SQL (table user_search_keys and the follow graph; migration 10) ----
constexpr const char* insert_search_key_sql =
    "INSERT INTO user_search_keys (search_key, user_id) VALUES (:k, :id)"
    " ON CONFLICT (search_key, user_id) DO NOTHING";
constexpr const char* backfill_marker_sql = "SELECT done_up_to FROM search_keys_backfill";
constexpr const char* backfill_advance_sql =
    "UPDATE search_keys_backfill SET done_up_to = :id WHERE done_up_to < :id2";
constexpr const char* users_after_id_sql =
    "SELECT " BSOCIAL_USER_COLUMNS " FROM users u WHERE u.id > :after ORDER BY u.id LIMIT :n";

/// The search: a range [from, to) of the key primary key, strictly after (key, id) of the
/// cursor; each user at the least of its keys in the range only (the NOT EXISTS reads
/// user_search_keys_by_user); then `extra` EXISTS, one per other token. The row: the user
/// columns, then the matching key.
std::string search_sql(int extra) {
    std::string s =
        "SELECT " BSOCIAL_USER_COLUMNS ", k.search_key FROM user_search_keys k"
        " JOIN users u ON u.id = k.user_id"
        " WHERE k.search_key >= :from AND k.search_key < :to"
        " AND (k.search_key > :after_key OR (k.search_key = :after_key2 AND k.user_id > :after_id))"
        " AND NOT EXISTS (SELECT 1 FROM user_search_keys e WHERE e.user_id = k.user_id"
        " AND e.search_key >= :from2 AND e.search_key < k.search_key)";
    for (int i = 0; i < extra; ++i)
        s += " AND EXISTS (SELECT 1 FROM user_search_keys t" + std::to_string(i) +
             " WHERE t" + std::to_string(i) + ".user_id = k.user_id AND t" + std::to_string(i) +
             ".search_key >= :tf" + std::to_string(i) + " AND t" + std::to_string(i) +
             ".search_key < :tt" + std::to_string(i) + ")";
    s += " ORDER BY k.search_key, k.user_id LIMIT :limit";
    return s;
}

constexpr const char* my_followees_sql =
    "SELECT followee_id FROM follows WHERE follower_id = :me ORDER BY followee_id LIMIT :n";
constexpr const char* some_followees_of_sql =
    "SELECT followee_id FROM follows WHERE follower_id = :who ORDER BY followee_id LIMIT :n";
constexpr const char* recent_authors_sql =
    "SELECT p.user_id FROM posts p ORDER BY p.created_at DESC, p.id DESC LIMIT :n";
constexpr const char* followers_up_to =
    "SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE followee_id = :id LIMIT :most) c";
constexpr const char* user_by_id_sql = "SELECT " BSOCIAL_USER_COLUMNS " FROM users u WHERE u.id = :id";
constexpr const char* follows_one_sql =
    "SELECT COUNT(*) FROM follows WHERE follower_id = :me AND followee_id = :id";
constexpr const char* post_count_sql = "SELECT COUNT(*) FROM posts WHERE user_id = :id";

constexpr std::string_view key_cursor_prefix = "k1:";

std::string encode_key_cursor(const std::string& key, std::int64_t id) {
    return auth::base64url_encode(std::string(key_cursor_prefix) + std::to_string(id) + ":" + key);
}

std::optional<std::pair<std::string, std::int64_t>> decode_key_cursor(std::string_view text) {
    if (text.size() > 400) return std::nullopt;
    const auto raw = auth::base64url_decode(text);
    if (!raw || raw->rfind(key_cursor_prefix, 0) != 0) return std::nullopt;
    const std::string_view body = std::string_view(*raw).substr(key_cursor_prefix.size());
    const auto colon = body.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto id = parse_int64(body.substr(0, colon));
    std::string key(body.substr(colon + 1));
    if (!id || *id <= 0 || key.empty() || key.size() > max_key_bytes || !is_valid_utf8(key))
        return std::nullopt;
    return std::make_pair(std::move(key), *id);
}

struct keyed_user {
    user who;
    std::string key;
};

void bind_keyed(soci::statement& st, keyed_user& row) {
    detail::bind_user(st, row.who);
    st.exchange(soci::into(row.key));
}

struct id_row {
    std::int64_t id = 0;
};
void bind_id(soci::statement& st, id_row& row) { st.exchange(soci::into(row.id)); }

}  // namespace

void write_search_keys(soci::session& sql, const user& u) {
    for (const auto& key : search_keys_of(u.username, u.first_name, u.last_name)) {
        std::int64_t id = u.id;
        sql << insert_search_key_sql, soci::use(key), soci::use(id);
    }
}

std::int64_t backfill_search_keys(store::database& db, int batch) {
    std::int64_t total = 0;
    for (;;) {
        store::lease sql_lease(db);
        soci::session& sql = *sql_lease;
        store::write_transaction tx(sql, db);
        std::int64_t after = 0;
        sql << backfill_marker_sql, soci::into(after);
        std::vector<user> rows = db.statements().run<user>(
            sql, users_after_id_sql, {after, std::int64_t{batch}}, detail::bind_user);
        if (rows.empty()) return total;
        for (const auto& u : rows) write_search_keys(sql, u);
        std::int64_t last = rows.back().id, last2 = last;
        sql << backfill_advance_sql, soci::use(last), soci::use(last2);
        tx.commit();
        total += static_cast<std::int64_t>(rows.size());
        if (static_cast<int>(rows.size()) < batch) return total;
    }
}

people::people(store::database& db, const clock& clock, suggestion_bounds bounds)
    : db_(db), clock_(clock), bounds_(bounds) {}

page<user> people::search(const std::string& text, const page_request& req) {
    std::vector<std::string> tokens = fold_tokens(text);
    if (tokens.empty()) {
        // No text (or only separators): everyone, by username, on the username index.
        std::string after;
        if (req.cursor) {
            auto name = decode_name_cursor(*req.cursor);
            if (!name) throw invalid_cursor();
            after = *name;
        }
        const std::string from = after.empty() ? std::string() : after + '\x01';
        const std::string to = "\x7f";
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        auto rows = db_.statements().run<user>(sql, search_page_sql,
                                               {from, to, std::int64_t{req.limit + 1}},
                                               detail::bind_user);
        return page_of(std::move(rows), req.limit,
                       [](const user& last) { return encode_cursor(last.username); });
    }
    if (tokens.size() > 3) tokens.resize(3);
    // The longest token reads the index (fewest keys in its range); the others filter.
    std::stable_sort(tokens.begin(), tokens.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    std::string after_key;
    std::int64_t after_id = 0;
    if (req.cursor) {
        auto c = decode_key_cursor(*req.cursor);
        if (!c) throw invalid_cursor();
        after_key = std::move(c->first);
        after_id = c->second;
    }
    const std::string& drive = tokens.front();
    std::vector<store::parameter> params = {drive, key_range_end(drive), after_key, after_key,
                                            after_id, drive};
    for (std::size_t i = 1; i < tokens.size(); ++i) {
        params.emplace_back(tokens[i]);
        params.emplace_back(key_range_end(tokens[i]));
    }
    params.emplace_back(std::int64_t{req.limit + 1});
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    auto rows = db_.statements().run<keyed_user>(
        sql, search_sql(static_cast<int>(tokens.size()) - 1), params, bind_keyed);
    auto keyed = page_of(std::move(rows), req.limit, [](const keyed_user& last) {
        return encode_key_cursor(last.key, last.who.id);
    });
    page<user> out;
    out.next_cursor = std::move(keyed.next_cursor);
    out.items.reserve(keyed.items.size());
    for (auto& k : keyed.items) out.items.push_back(std::move(k.who));
    return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> people::popular_authors() {
    {
        std::lock_guard lock(mutex_);
        if (popular_at_ && std::chrono::steady_clock::now() - *popular_at_ < bounds_.popular_ttl)
            return popular_;
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> ranked;
    {
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        auto recent = db_.statements().run<id_row>(
            sql, recent_authors_sql, {std::int64_t{bounds_.max_recent_posts}}, bind_id);
        std::unordered_set<std::int64_t> seen;
        for (const auto& r : recent) {
            if (!seen.insert(r.id).second) continue;
            auto n = db_.statements().run<id_row>(
                sql, followers_up_to, {r.id, std::int64_t{bounds_.max_followers_counted}},
                bind_id);
            ranked.emplace_back(r.id, n.empty() ? 0 : n.front().id);
        }
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (static_cast<int>(ranked.size()) > bounds_.popular_kept)
        ranked.resize(static_cast<std::size_t>(bounds_.popular_kept));
    std::lock_guard lock(mutex_);
    popular_ = ranked;
    // Nobody posted yet: look again next time rather than keep "nobody" for a minute.
    if (!ranked.empty()) popular_at_ = std::chrono::steady_clock::now();
    return ranked;
}

std::vector<suggestion> people::suggestions(const user& me, int limit) {
    limit = std::clamp(limit, 1, 50);
    std::vector<std::pair<std::int64_t, std::int64_t>> ranked;  // (id, followed_by)
    std::unordered_set<std::int64_t> mine;
    bool all_mine_known = true;
    {
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        auto followees = db_.statements().run<id_row>(
            sql, my_followees_sql, {me.id, std::int64_t{bounds_.max_followees_read}}, bind_id);
        all_mine_known = static_cast<int>(followees.size()) < bounds_.max_followees_read;
        for (const auto& f : followees) mine.insert(f.id);
        // An even spread of at most max_followees_sampled of them.
        std::vector<std::int64_t> sample;
        const std::size_t n = followees.size();
        const std::size_t want = std::min<std::size_t>(n, static_cast<std::size_t>(bounds_.max_followees_sampled));
        for (std::size_t i = 0; i < want; ++i) sample.push_back(followees[i * n / want].id);
        std::map<std::int64_t, std::int64_t> counts;
        for (const auto who : sample) {
            for (const auto& c : db_.statements().run<id_row>(
                     sql, some_followees_of_sql, {who, std::int64_t{bounds_.max_followees_each}},
                     bind_id))
                if (c.id != me.id && !mine.count(c.id)) ++counts[c.id];
        }
        ranked.assign(counts.begin(), counts.end());
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<suggestion> out;
    std::unordered_set<std::int64_t> taken;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    auto add = [&](std::int64_t id, std::int64_t followed_by, suggestion::reason why) {
        if (id == me.id || mine.count(id) || taken.count(id)) return;
        if (!all_mine_known) {  // beyond the followees read: ask the primary key
            auto f = db_.statements().run<id_row>(sql, follows_one_sql, {me.id, id}, bind_id);
            if (!f.empty() && f.front().id > 0) return;
        }
        auto u = db_.statements().run<user>(sql, user_by_id_sql, {id}, detail::bind_user);
        if (u.empty()) return;
        taken.insert(id);
        out.push_back(suggestion{std::move(u.front()), followed_by, why});
    };
    for (const auto& [id, n] : ranked) {
        if (static_cast<int>(out.size()) >= limit) break;
        add(id, n, suggestion::reason::followed_by_your_follows);
    }
    if (static_cast<int>(out.size()) < limit) {
        for (const auto& [id, followers] : popular_authors()) {
            if (static_cast<int>(out.size()) >= limit) break;
            add(id, 0, suggestion::reason::popular);
        }
    }
    return out;
}

std::set<std::int64_t> people::followed_among(std::int64_t me, const std::vector<std::int64_t>& ids) {
    std::set<std::int64_t> out;
    if (ids.empty()) return out;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    for (const auto id : ids) {
        if (id == me) continue;
        auto f = db_.statements().run<id_row>(sql, follows_one_sql, {me, id}, bind_id);
        if (!f.empty() && f.front().id > 0) out.insert(id);
    }
    return out;
}

std::int64_t people::post_count(std::int64_t user_id) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    auto n = db_.statements().run<id_row>(sql, post_count_sql, {user_id}, bind_id);
    return n.empty() ? 0 : n.front().id;
}

}  // namespace bsocial::social
