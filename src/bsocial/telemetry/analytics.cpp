#include "bsocial/telemetry/analytics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "bsocial/core/text.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/telemetry/document.hpp"
#include "bsocial/telemetry/query_runner.hpp"
#include "bsocial/telemetry/query_template.hpp"

namespace bsocial::telemetry {

namespace json = boost::json;

namespace {

constexpr const char* user_lookup_file = "user_id_by_username.json";
constexpr const char* q1_days_file = "q1_days.json";
/// q1 on the events themselves (paged composite): for a zone whose midnights are not on a
/// half hour of UTC (Nepal's +05:45) or a day longer than the two UTC days it touches.
constexpr const char* q1_events_file = "q1_logged_in_users_per_day_from_events.json";

const json::object& obj(const json::value& v, std::string_view key) {
    const auto* o = v.as_object().if_contains(key);
    if (!o || !o->is_object())
        throw std::runtime_error("response lacks object \"" + std::string(key) + "\"");
    return o->get_object();
}

const json::object& obj(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_object())
        throw std::runtime_error("response lacks object \"" + std::string(key) + "\"");
    return v->get_object();
}

const json::array& buckets(const json::object& agg) {
    const auto* b = agg.if_contains("buckets");
    if (!b || !b->is_array()) throw std::runtime_error("aggregation has no buckets");
    return b->get_array();
}

std::string str(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_null()) return "-";
    return json::serialize(v);
}

std::int64_t count(const json::value& v) { return v.to_number<std::int64_t>(); }

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string search(es_client& es, const std::string& index, const std::string& body) {
    const auto r = es.request("POST", "/" + index + "/_search", body);
    if (r.status != 200)
        throw query_refused("query refused by the search engine: HTTP " +
                            std::to_string(r.status) + " " + r.body.substr(0, 1000));
    return r.body;
}

/// Debug-level profile of a q1 run (docs/analytics.md, "q1 in Asia/Kathmandu at 10M
/// events"): one line per request to the search engine, `module=telemetry event=q1_step
/// step=... ms=... took=...` (ms: the request and the parsing of its answer, as this
/// process saw them; took: the engine's own time; bytes: the answer's size), so a slow
/// call says where its time went.
using steady = std::chrono::steady_clock;

double ms_since(steady::time_point t0) {
    return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

std::int64_t took_of(const json::value& response) {
    const auto* took = response.is_object() ? response.as_object().if_contains("took") : nullptr;
    return took && took->is_number() ? took->to_number<std::int64_t>() : -1;
}

void log_q1_step(const query_config& config, std::string_view step, steady::time_point t0,
                 const json::value& response, std::size_t bytes, std::size_t buckets) {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    spdlog::debug("module=telemetry event=q1_step tz={} step={} ms={:.1f} took={} bytes={} "
                  "buckets={}",
                  config.tz, step, ms_since(t0), took_of(response), bytes, buckets);
}

/// The user id behind a username, from any event that carries both.
std::string lookup_user_id(es_client& es, const query_config& config) {
    const std::string name = ascii_lower(config.user);
    const auto body =
        substitute(load_query_file(config.queries_dir, user_lookup_file), {{"username", name}});
    const auto response = json::parse(search(es, config.es.index, body));
    const auto& hits = obj(response, "hits").at("hits").as_array();
    if (hits.empty()) throw unknown_user("no user \"" + name + "\" in the events index");
    return std::string(hits.at(0).at("_source").at("user_id").as_string());
}

/// The SQL half of a post row: author, excerpt, comment_count (null when unknown).
void add_details(json::object& row, const std::map<std::string, post_details>& details) {
    const auto it = details.find(std::string(row.at("post_id").as_string()));
    if (it == details.end()) {
        row["author"] = nullptr;
        row["excerpt"] = nullptr;
        row["comment_count"] = nullptr;
        return;
    }
    row["author"] = it->second.author;
    row["excerpt"] = it->second.excerpt;
    row["comment_count"] = it->second.comment_count;
}

json::object rows_q1(const json::value& aggs, const query_config& config) {
    json::array days;
    for (const auto& b : buckets(obj(aggs, "per_day")))
        days.push_back(json::object{{"day", str(b.at("key_as_string"))},
                                    {"logged_in_users", count(b.at("users").at("value"))}});
    return json::object{{"tz", config.tz}, {"days", std::move(days)}};
}

json::object rows_q2(const json::value& aggs, const query_config& config,
                     const post_lookup& lookup) {
    json::array days;
    std::vector<std::string> ids;
    for (const auto& day : buckets(obj(aggs, "per_day"))) {
        json::array posts;
        std::int64_t rank = 0;
        for (const auto& p : buckets(day.at("top_posts").as_object())) {
            ids.push_back(str(p.at("key")));
            posts.push_back(json::object{{"rank", ++rank},
                                         {"post_id", ids.back()},
                                         {"comments", count(p.at("doc_count"))}});
        }
        days.push_back(json::object{{"day", str(day.at("key_as_string"))}, {"posts", posts}});
    }
    const auto details = lookup ? lookup(ids) : std::map<std::string, post_details>{};
    for (auto& day : days)
        for (auto& p : day.at("posts").as_array()) add_details(p.as_object(), details);
    return json::object{{"tz", config.tz}, {"days", std::move(days)}};
}

/// The first bucket of a q3 ranking, if it is a real post (its post.created is indexed:
/// a bucket of comments only ranks last and means the user has no post).
json::value first_post(const json::value& aggs, std::string_view which) {
    for (const auto& p : buckets(obj(aggs, which))) {
        if (count(p.at("post").at("doc_count")) == 0) continue;
        const auto& created = p.at("post").at("created").as_object();
        const auto* when = created.if_contains("value_as_string");
        return json::object{{"post_id", str(p.at("key"))},
                            {"comments", count(p.at("comments").at("doc_count"))},
                            {"created_at", when ? *when : json::value(nullptr)}};
    }
    return nullptr;
}

json::object rows_q3(const json::value& aggs, const query_config& config,
                     const post_lookup& lookup, const std::string& user_id) {
    json::value best = first_post(aggs, "top_post");
    json::value worst = first_post(aggs, "worst_post");
    std::vector<std::string> ids;
    for (const auto* p : {&best, &worst})
        if (p->is_object()) ids.emplace_back(p->at("post_id").as_string());
    const auto details = lookup ? lookup(ids) : std::map<std::string, post_details>{};
    for (auto* p : {&best, &worst})
        if (p->is_object()) add_details(p->as_object(), details);
    return json::object{
        {"user_id", user_id},
        {"username", config.user.empty() ? json::value(nullptr) : json::value(ascii_lower(config.user))},
        {"best", std::move(best)},
        {"worst", std::move(worst)}};
}

std::string table_q1(const json::object& rows) {
    std::ostringstream out;
    out << "day          logged-in users\n";
    for (const auto& d : rows.at("days").as_array())
        out << pad(str(d.at("day")), 13) << count(d.at("logged_in_users")) << "\n";
    return out.str();
}

std::string table_q2(const json::object& rows) {
    std::ostringstream out;
    out << "day          rank  post_id     comments  author\n";
    for (const auto& day : rows.at("days").as_array()) {
        const auto key = str(day.at("day"));
        const auto& posts = day.at("posts").as_array();
        if (posts.empty()) out << pad(key, 13) << "-     (no comments)\n";
        for (const auto& p : posts)
            out << pad(key, 13) << pad(str(p.at("rank")), 6) << pad(str(p.at("post_id")), 12)
                << pad(str(p.at("comments")), 10) << str(p.at("author")) << "\n";
    }
    return out.str();
}

std::string table_q3(const json::object& rows) {
    std::ostringstream out;
    out << "user_id " << str(rows.at("user_id")) << "\n";
    out << "which  post_id     comments  created_at\n";
    bool any = false;
    for (const auto* which : {"best", "worst"}) {
        const auto& p = rows.at(which);
        if (!p.is_object()) continue;
        any = true;
        out << pad(which, 7) << pad(str(p.at("post_id")), 12) << pad(str(p.at("comments")), 10)
            << str(p.at("created_at")) << "\n";
    }
    if (!any) out << "(this user has no posts)\n";
    return out.str();
}

json::object rows_of(std::string_view name, const json::value& response,
                     const query_config& config, const post_lookup& lookup,
                     const std::string& user_id) {
    const auto* aggs = response.is_object() ? response.as_object().if_contains("aggregations")
                                            : nullptr;
    if (!aggs || !aggs->is_object())
        throw std::runtime_error("search response has no aggregations");
    if (name == "q1") return rows_q1(*aggs, config);
    if (name == "q2") return rows_q2(*aggs, config, lookup);
    return rows_q3(*aggs, config, lookup, user_id);
}

json::value parse_response(std::string_view body) {
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) throw std::runtime_error("search response is not JSON");
    return parsed;
}

/// Runs `body`, whose aggregation `name` is a `composite`, page after page (its
/// after_key), handing each page's buckets to `on_page`. Returns the first page's whole
/// response (for the other aggregations); the next pages carry the composite only.
json::value paged_composite(es_client& es, const std::string& index, std::string_view body,
                            std::string_view name,
                            const std::function<void(const json::array&)>& on_page) {
    auto query = json::parse(body);
    const auto page_size = query.at("aggs").at(name).at("composite").as_object().if_contains("size");
    const std::size_t size = page_size ? page_size->to_number<std::size_t>() : 10;
    json::value first;
    for (int page = 0;; ++page) {
        auto response = parse_response(search(es, index, json::serialize(query)));
        const auto& agg = obj(obj(response.as_object(), "aggregations"), name);
        const auto& list = buckets(agg);
        on_page(list);
        const auto* after_key = agg.if_contains("after_key");
        const bool more = after_key && list.size() >= size;
        json::value after = more ? *after_key : json::value();
        if (page == 0) {
            first = std::move(response);
            // Every later page: only the composite, from where the previous one ended.
            json::object only;
            only[name] = query.at("aggs").at(name);
            query.as_object()["aggs"] = std::move(only);
        }
        if (!more) break;
        query.at("aggs").at(name).at("composite").as_object()["after"] = std::move(after);
    }
    return first;
}

/// What a `_msearch` cost, for the debug lines (log_q1_step).
struct msearch_stats {
    std::int64_t took = -1;  ///< the engine's time for the whole _msearch
    std::size_t bytes = 0;   ///< the answer's size
};

/// Runs the searches of `bodies` (JSON objects), the i-th on `indices[i]`, in one
/// `_msearch` request: the engine runs them side by side. `filter_path` (a query parameter,
/// optional) keeps only those parts of each response. Returns the responses, in the same
/// order; a refused one throws query_refused. `stats`, if given, receives its took and size.
std::vector<json::value> multi_search(es_client& es, const std::vector<std::string>& indices,
                                      const std::vector<json::value>& bodies,
                                      std::string_view filter_path = {},
                                      msearch_stats* stats = nullptr) {
    if (indices.size() != bodies.size())
        throw std::logic_error("multi_search: one index per search");
    std::string ndjson;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        ndjson += json::serialize(json::object{{"index", indices[i]}});
        ndjson += '\n';
        ndjson += json::serialize(bodies[i]);
        ndjson += '\n';
    }
    std::string path = "/_msearch";
    if (!filter_path.empty()) {
        path += "?filter_path=took,error,responses.status,responses.error,";
        path += filter_path;
    }
    const auto r = es.request("POST", path, ndjson, "application/x-ndjson");
    if (r.status != 200)
        throw query_refused("query refused by the search engine: HTTP " +
                            std::to_string(r.status) + " " + r.body.substr(0, 1000));
    const auto parsed = parse_response(r.body);
    if (stats) *stats = {took_of(parsed), r.body.size()};
    const auto* responses = parsed.as_object().if_contains("responses");
    if (!responses || !responses->is_array() || responses->as_array().size() != bodies.size())
        throw std::runtime_error("_msearch response has not one answer per search");
    std::vector<json::value> out;
    for (const auto& one : responses->as_array()) {
        const auto* status = one.is_object() ? one.as_object().if_contains("status") : nullptr;
        if (!one.is_object() || one.as_object().contains("error") ||
            (status && status->is_number() && status->to_number<int>() != 200))
            throw query_refused("query refused by the search engine: " +
                                json::serialize(one).substr(0, 1000));
        out.push_back(one);
    }
    return out;
}

/// The same, every search on `index`.
std::vector<json::value> multi_search(es_client& es, const std::string& index,
                                      const std::vector<json::value>& bodies,
                                      std::string_view filter_path = {},
                                      msearch_stats* stats = nullptr) {
    return multi_search(es, std::vector<std::string>(bodies.size(), index), bodies, filter_path,
                        stats);
}

/// q1 on the events (the fallback of q1_response): the days of the range (the per_day
/// histogram of one first search) with, for each
/// day that has logins, the exact number of distinct users: a `composite` over the users
/// of that day alone (the file's `day_users` without its day source, the range narrowed to
/// the day in tz), one search per day, all the days in one `_msearch` (run in parallel by
/// the engine), a day with more users than a page asked again from its after_key.
json::value q1_events_response(es_client& es, const query_config& config, std::string_view body) {    auto query = json::parse(body);
    auto& aggs = query.at("aggs").as_object();
    json::object composite = aggs.at("day_users").at("composite").as_object();
    aggs.erase("day_users");
    query.as_object()["track_total_hits"] = false;
    auto first = parse_response(search(es, config.es.index, json::serialize(query)));

    const auto* size_v = composite.if_contains("size");
    const std::size_t size = size_v ? size_v->to_number<std::size_t>() : 10;
    json::array user_sources;
    for (const auto& source : composite.at("sources").as_array())
        if (!source.as_object().contains("day")) user_sources.push_back(source);
    composite["sources"] = std::move(user_sources);

    // One search per day with logins: the query of the file, its range that day in tz.
    std::vector<std::string> days;
    std::vector<json::value> pending;
    for (const auto& b : buckets(obj(obj(first.as_object(), "aggregations"), "per_day"))) {
        if (count(b.at("doc_count")) == 0) continue;
        const auto day = str(b.at("key_as_string"));
        json::value q = json::object{{"size", 0},
                                     {"track_total_hits", false},
                                     {"query", query.at("query")},
                                     {"aggs", json::object{{"day_users", {{"composite", composite}}}}}};
        for (auto& f : q.at("query").at("bool").at("filter").as_array()) {
            auto* range = f.as_object().if_contains("range");
            if (!range || !range->as_object().contains("occurred_at")) continue;
            auto& r = range->at("occurred_at").as_object();
            r["gte"] = day + "||/d";
            r["lte"] = day + "||/d";
        }
        days.push_back(day);
        pending.push_back(std::move(q));
    }
    std::map<std::string, std::int64_t> users;
    while (!pending.empty()) {
        // Only what is counted comes back: each bucket's doc_count (not its key) and the
        // after_key (a 30-day answer at 1M events: 11 MB of JSON instead of 26 MB).
        const auto responses =
            multi_search(es, config.es.index, pending,
                         "responses.aggregations.day_users.after_key,"
                         "responses.aggregations.day_users.buckets.doc_count");
        std::vector<std::string> next_days;
        std::vector<json::value> next;
        for (std::size_t i = 0; i < responses.size(); ++i) {
            // filter_path leaves out what is empty: no buckets, no aggregations at all
            const auto* aggs = responses[i].as_object().if_contains("aggregations");
            const auto* agg = aggs && aggs->is_object()
                                  ? aggs->as_object().if_contains("day_users") : nullptr;
            const auto* list = agg && agg->is_object()
                                   ? agg->as_object().if_contains("buckets") : nullptr;
            const std::size_t n = list && list->is_array() ? list->as_array().size() : 0;
            users[days[i]] += static_cast<std::int64_t>(n);
            const auto* after_key = n ? agg->as_object().if_contains("after_key") : nullptr;
            if (!after_key || n < size) continue;
            auto q = std::move(pending[i]);
            q.at("aggs").at("day_users").at("composite").as_object()["after"] = *after_key;
            next_days.push_back(days[i]);
            next.push_back(std::move(q));
        }
        days = std::move(next_days);
        pending = std::move(next);
    }
    return q1_merge(std::move(first), users);
}

constexpr std::int64_t day_ms = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

std::optional<login_day_split> split_local_day(std::int64_t start_ms, std::int64_t end_ms) {
    if (end_ms <= start_ms) return std::nullopt;
    login_day_split out;
    const auto utc_day = floor_div(end_ms - 1, day_ms);  // the UTC day of the day's end
    const auto day_start = utc_day * day_ms;
    if ((end_ms - day_start) % login_slot_ms != 0) return std::nullopt;
    out.end_slot = static_cast<int>((end_ms - day_start) / login_slot_ms);  // 1..48
    const auto before = start_ms - (day_start - day_ms);  // from the UTC day before's start
    if (before < 0 || before % login_slot_ms != 0) return std::nullopt;
    out.start_slot = static_cast<int>(before / login_slot_ms);  // 48: none of the day before
    if (out.start_slot > login_slots) return std::nullopt;
    out.utc_day = format_rfc3339_ms(day_start).substr(0, 10);
    return out;
}

namespace {

/// A local day whose bounds are not on half hours of UTC (Asia/Kathmandu): `split` covers
/// its whole half hours, [start_ms, head_end_ms) and [tail_start_ms, end_ms) are the pieces
/// of less than half an hour at its ends (either may be empty). Nothing when even its half
/// hours are not one UTC day of login-day documents (a day that starts after 00:00Z of the
/// UTC day of its end).
struct inner_split {
    login_day_split split;
    std::int64_t start_ms = 0, head_end_ms = 0, tail_start_ms = 0, end_ms = 0;
};

std::optional<inner_split> split_inner(std::int64_t start_ms, std::int64_t end_ms) {
    if (end_ms <= start_ms) return std::nullopt;
    const auto utc_day = floor_div(end_ms - 1, day_ms);
    const auto day_start = utc_day * day_ms;
    const auto tail_start = day_start + floor_div(end_ms - day_start, login_slot_ms) * login_slot_ms;
    const auto before = start_ms - (day_start - day_ms);
    if (before < 0) return std::nullopt;
    const auto start_slot = (before + login_slot_ms - 1) / login_slot_ms;  // rounded up
    if (start_slot > login_slots) return std::nullopt;
    const auto head_end = day_start - day_ms + start_slot * login_slot_ms;
    if (head_end > tail_start) return std::nullopt;
    inner_split out;
    out.split.utc_day = format_rfc3339_ms(day_start).substr(0, 10);
    // slot 48 of the day before (a48) and slot 0 of the day (b0) are no fields: no document
    out.split.start_slot = static_cast<int>(start_slot);
    out.split.end_slot = static_cast<int>((tail_start - day_start) / login_slot_ms);
    out.start_ms = start_ms;
    out.head_end_ms = head_end;
    out.tail_start_ms = tail_start;
    out.end_ms = end_ms;
    return out;
}

json::object ms_range(std::int64_t from, std::int64_t to) {
    return json::object{{"range", {{"occurred_at", {{"gte", from}, {"lt", to}, {"format", "epoch_millis"}}}}}};
}

/// The searches of the users who logged in during the ends of each day of `days`
/// (inner_split), from the events: the stored events file (`events_file`, filled in) with
/// its range on occurred_at replaced by the day's two ends and its `day_users` composite
/// without the day source (the ends are that day's), so that a bucket is one user. One
/// search per day (null for a day without ends), sent with the searches of the q1 file in
/// one `_msearch` (q1_response). `page` receives the composite's size (the file's: a test
/// pages with a copy of queries/ whose size is smaller).
std::vector<json::value> ends_searches(std::string_view events_file,
                                       const std::vector<inner_split>& days, std::size_t& page) {
    const auto file = json::parse(events_file);
    json::object composite = file.at("aggs").at("day_users").at("composite").as_object();
    const auto* size = composite.if_contains("size");
    page = size ? size->to_number<std::size_t>() : 10;
    json::array user_source;
    for (const auto& source : composite.at("sources").as_array())
        if (!source.as_object().contains("day")) user_source.push_back(source);
    if (user_source.size() != 1)
        throw std::runtime_error(std::string(q1_events_file) +
                                 ": day_users must have two sources, day and user");
    composite["sources"] = std::move(user_source);
    json::array filter;  // the file's filters but its range
    for (const auto& f : file.at("query").at("bool").at("filter").as_array()) {
        const auto* range = f.as_object().if_contains("range");
        if (range && range->as_object().contains("occurred_at")) continue;
        filter.push_back(f);
    }
    std::vector<json::value> out;
    for (const auto& d : days) {
        json::array ends;
        if (d.start_ms < d.head_end_ms) ends.push_back(ms_range(d.start_ms, d.head_end_ms));
        if (d.tail_start_ms < d.end_ms) ends.push_back(ms_range(d.tail_start_ms, d.end_ms));
        if (ends.empty()) {
            out.emplace_back();
            continue;
        }
        auto query = file.at("query");
        auto& f = query.at("bool").as_object()["filter"] = filter;
        f.as_array().push_back(
            json::object{{"bool", {{"should", std::move(ends)}, {"minimum_should_match", 1}}}});
        out.push_back(json::object{{"size", 0},
                                   {"track_total_hits", false},
                                   {"query", std::move(query)},
                                   {"aggs", {{"day_users", {{"composite", composite}}}}}});
    }
    return out;
}

/// What `_msearch` keeps of a search of the q1 file's answer: each day and its count.
constexpr const char* days_filter_path =
    "responses.aggregations.per_day.buckets.key_as_string,"
    "responses.aggregations.per_day.buckets.doc_count";

/// What `_msearch` keeps of an ends search's answer: each bucket's key and the after_key.
constexpr const char* ends_filter_path =
    "responses.aggregations.day_users.after_key,responses.aggregations.day_users.buckets.key";

/// Adds the users of one page of an ends search (`response`) to `users` (a composite's
/// buckets are distinct). A full page: sets `body`'s `after` and returns true (ask again).
bool take_ends_page(const json::value& response, std::size_t page, json::value& body,
                    std::vector<std::int64_t>& users) {
    // filter_path leaves out what is empty: no buckets, no aggregations at all
    const auto* aggs = response.as_object().if_contains("aggregations");
    const auto* agg = aggs && aggs->is_object() ? aggs->as_object().if_contains("day_users")
                                                : nullptr;
    const auto* list = agg && agg->is_object() ? agg->as_object().if_contains("buckets") : nullptr;
    if (!list || !list->is_array()) return false;
    for (const auto& b : list->as_array()) {
        const auto& key = b.at("key").as_object();
        if (key.size() != 1) throw std::runtime_error("ends bucket: the key is not one user");
        users.push_back(key.begin()->value().to_number<std::int64_t>());
    }
    const auto* after_key = agg->as_object().if_contains("after_key");
    if (!after_key || list->as_array().size() < page) return false;
    body.at("aggs").at("day_users").at("composite").as_object()["after"] = *after_key;
    return true;
}

/// How many of `users[i]` have the login-day document of days[i] that its half hours count
/// (b<end_slot> or a<start_slot>): one search, a clause per day (per 50,000 users: `terms` on
/// `user_id.num`, the numbers the ends' composite gave; at 10M events half the time of the
/// keyword `user_id` with the shard request cache, the same without), the count per UTC day
/// from a histogram of the documents' day.
std::vector<std::int64_t> already_counted(es_client& es, const query_config& config,
                                          const std::vector<inner_split>& days,
                                          const std::vector<std::vector<std::int64_t>>& users) {
    constexpr std::size_t chunk = 50'000;  // under the engines' 65,536 terms of a query
    const auto t0 = steady::now();
    std::vector<std::int64_t> out(days.size(), 0);
    std::map<std::string, std::size_t> index_of;
    json::array clauses;
    std::size_t ids_sent = 0;
    for (std::size_t i = 0; i < days.size(); ++i) {
        const auto& sp = days[i].split;
        index_of[sp.utc_day] = i;
        json::array ids;
        const auto flush = [&] {
            if (ids.empty()) return;
            clauses.push_back(json::object{
                {"bool",
                 {{"filter",
                   json::array{
                       json::object{{"term", {{"day", sp.utc_day}}}},
                       json::object{{"terms", {{"user_id.num", std::move(ids)}}}},
                       json::object{
                           {"bool",
                            {{"should",
                              json::array{
                                  json::object{{"term", {{"b" + std::to_string(sp.end_slot), true}}}},
                                  json::object{{"term", {{"a" + std::to_string(sp.start_slot), true}}}}}},
                             {"minimum_should_match", 1}}}}}}}}});
            ids = json::array{};
        };
        ids_sent += users[i].size();
        for (const auto u : users[i]) {
            ids.push_back(json::value(u));
            if (ids.size() >= chunk) flush();
        }
        flush();
    }
    if (clauses.empty()) return out;
    const json::object q{
        {"size", 0},
        {"track_total_hits", false},
        {"query", {{"bool", {{"should", std::move(clauses)}, {"minimum_should_match", 1}}}}},
        {"aggs",
         {{"per_day",
           {{"date_histogram",
             {{"field", "day"}, {"calendar_interval", "day"}, {"format", "yyyy-MM-dd"}}}}}}}};
    const auto text = search(es, config.es.logins_index(), json::serialize(q));
    const auto response = parse_response(text);
    for (const auto& b : buckets(obj(obj(response.as_object(), "aggregations"), "per_day"))) {
        const auto it = index_of.find(str(b.at("key_as_string")));
        if (it != index_of.end()) out[it->second] += count(b.at("doc_count"));
    }
    log_q1_step(config, "already_counted", t0, response, text.size(), ids_sent);
    return out;
}

/// q1: the local days of the range (their bounds from q1_days.json: a date_histogram in tz
/// over no document), each split into the UTC day of its end and two half-hour slots
/// (split_local_day); one search of the stored q1 file per distinct pair of slots (one for
/// a zone without a change of offset in the range), all in one `_msearch`: each day's
/// number is the doc count of its UTC day's bucket. Any day that does not split goes to
/// the events (q1_events_response), exact too but slower.
json::value q1_response(es_client& es, const query_config& config) {
    const auto start = steady::now();
    auto params = query_parameters(config, {});
    params["to_next"] = params.at("to") + "+1d";  // the bucket after the last day: its end
    const auto bounds_text = search(
        es, config.es.logins_index(),
        substitute(load_query_file(config.queries_dir, q1_days_file), params));
    const auto bounds = parse_response(bounds_text);
    const auto& keys = buckets(obj(obj(bounds.as_object(), "aggregations"), "days"));
    log_q1_step(config, "bounds", start, bounds, bounds_text.size(), keys.size());
    struct local_day {
        std::string label;
        login_day_split split;
    };
    std::vector<local_day> days;
    bool all_split = keys.size() >= 2;
    for (std::size_t i = 0; all_split && i + 1 < keys.size(); ++i) {
        const auto split = split_local_day(keys[i].at("key").to_number<std::int64_t>(),
                                           keys[i + 1].at("key").to_number<std::int64_t>());
        if (!split) all_split = false;
        else days.push_back({str(keys[i].at("key_as_string")), *split});
    }
    // A day not on half hours (Kathmandu): its half hours from the login-day documents,
    // the minutes at its two ends from the login events (ends_searches, in the same
    // _msearch), those of them the documents already counted taken off (already_counted).
    std::vector<inner_split> inner;
    if (!all_split && keys.size() >= 2) {
        days.clear();
        for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
            const auto split = split_inner(keys[i].at("key").to_number<std::int64_t>(),
                                           keys[i + 1].at("key").to_number<std::int64_t>());
            if (!split) {
                inner.clear();
                break;
            }
            inner.push_back(*split);
            days.push_back({str(keys[i].at("key_as_string")), split->split});
        }
    }
    if (!all_split && inner.empty()) {
        spdlog::debug("module=telemetry event=q1_from_events tz={}", config.tz);
        const auto body = substitute(load_query_file(config.queries_dir, q1_events_file), params);
        return q1_events_response(es, config, body);
    }
    const auto file = load_query_file(config.queries_dir, query_file("q1"));
    std::map<std::pair<int, int>, std::pair<std::string, std::string>> groups;  // first, last
    for (const auto& d : days) {
        auto [it, fresh] = groups.try_emplace({d.split.start_slot, d.split.end_slot},
                                              d.split.utc_day, d.split.utc_day);
        if (!fresh) it->second.second = d.split.utc_day;  // days come in order
    }
    std::vector<json::value> bodies;
    std::vector<std::pair<int, int>> order;
    for (const auto& [slots, range] : groups) {
        auto p = params;
        p["start_slot"] = std::to_string(slots.first);
        p["end_slot"] = std::to_string(slots.second);
        p["first_utc_day"] = range.first;
        p["last_utc_day"] = range.second;
        bodies.push_back(json::parse(substitute(file, p)));
        order.push_back(slots);
    }
    // The ends' searches (events) go with the q1 file's (login-day documents): one round
    // trip, the engine runs them side by side.
    std::vector<std::string> indices(bodies.size(), config.es.logins_index());
    std::vector<std::vector<std::int64_t>> ends(inner.size());
    std::vector<std::size_t> ends_day;  // the day of each ends search, after the file's
    std::size_t page = 0;
    if (!inner.empty()) {
        auto searches = ends_searches(
            substitute(load_query_file(config.queries_dir, q1_events_file), params), inner, page);
        for (std::size_t i = 0; i < searches.size(); ++i) {
            if (searches[i].is_null()) continue;
            bodies.push_back(std::move(searches[i]));
            indices.push_back(config.es.index);
            ends_day.push_back(i);
        }
    }
    const auto t_days = steady::now();
    msearch_stats stats;
    const auto responses = multi_search(es, indices, bodies,
                                        std::string(days_filter_path) + "," + ends_filter_path,
                                        &stats);
    log_q1_step(config, "msearch", t_days, json::object{{"took", stats.took}}, stats.bytes,
                bodies.size());
    std::vector<json::value> pending;  // the ends with a full page: their next one
    std::vector<std::size_t> pending_day;
    for (std::size_t k = 0; k < ends_day.size(); ++k) {
        auto& body = bodies[order.size() + k];
        if (take_ends_page(responses[order.size() + k], page, body, ends[ends_day[k]])) {
            pending.push_back(std::move(body));
            pending_day.push_back(ends_day[k]);
        }
    }
    while (!pending.empty()) {
        const auto t_more = steady::now();
        const auto more = multi_search(es, config.es.index, pending, ends_filter_path, &stats);
        log_q1_step(config, "ends_next_page", t_more, json::object{{"took", stats.took}},
                    stats.bytes, pending.size());
        std::vector<json::value> next;
        std::vector<std::size_t> next_day;
        for (std::size_t k = 0; k < more.size(); ++k)
            if (take_ends_page(more[k], page, pending[k], ends[pending_day[k]])) {
                next.push_back(std::move(pending[k]));
                next_day.push_back(pending_day[k]);
            }
        pending = std::move(next);
        pending_day = std::move(next_day);
    }
    std::map<std::pair<std::pair<int, int>, std::string>, std::int64_t> counts;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto* aggs = responses[i].as_object().if_contains("aggregations");
        if (!aggs) continue;  // filter_path drops an empty histogram
        for (const auto& b : buckets(obj(*aggs, "per_day")))
            counts[{order[i], str(b.at("key_as_string"))}] = count(b.at("doc_count"));
    }
    std::vector<std::int64_t> extra(days.size(), 0);
    if (!inner.empty()) {
        const auto counted = already_counted(es, config, inner, ends);
        for (std::size_t i = 0; i < days.size(); ++i)
            extra[i] = static_cast<std::int64_t>(ends[i].size()) - counted[i];
    }
    json::array per_day;
    for (std::size_t i = 0; i < days.size(); ++i) {
        const auto& d = days[i];
        const auto it = counts.find({{d.split.start_slot, d.split.end_slot}, d.split.utc_day});
        per_day.push_back(json::object{
            {"key_as_string", d.label},
            {"users", {{"value", (it == counts.end() ? std::int64_t{0} : it->second) + extra[i]}}}});
    }
    if (spdlog::should_log(spdlog::level::debug))
        spdlog::debug("module=telemetry event=q1_step tz={} step=total ms={:.1f} days={}",
                      config.tz, ms_since(start), days.size());
    return json::object{{"aggregations", {{"per_day", {{"buckets", std::move(per_day)}}}}}};
}

/// q3: every post of the user, page after page, ranked here.
json::value q3_response(es_client& es, const query_config& config, std::string_view body) {
    q3_ranking ranking;
    paged_composite(es, config.es.entities_index(), body, "posts",
                    [&](const json::array& page) {
                        for (const auto& b : page) ranking.add(b.as_object());
                    });
    return ranking.response();
}

/// The ids among `ids` whose post is deleted (its entity document says so).
std::vector<std::string> deleted_posts(es_client& es, const std::string& index,
                                       const std::vector<std::string>& ids) {
    if (ids.empty()) return {};
    json::array terms;
    for (const auto& id : ids) terms.push_back(json::value(id));
    const json::object query{
        {"size", ids.size()},
        {"_source", json::array{"post_id"}},
        {"query",
         {{"bool",
           {{"filter", json::array{json::object{{"term", {{"kind", "post"}}}},
                                   json::object{{"term", {{"deleted", true}}}},
                                   json::object{{"terms", {{"post_id", terms}}}}}}}}}}};
    const auto response = parse_response(search(es, index, json::serialize(query)));
    std::vector<std::string> out;
    for (const auto& hit : obj(response.as_object(), "hits").at("hits").as_array())
        out.push_back(str(hit.at("_source").at("post_id")));
    return out;
}

/// q2: the ranking of the comments that are not deleted, one search per day (`bodies`, the
/// stored file with the range narrowed to that day) in one `_msearch`: each day reads only
/// its own comments and the engine runs the days side by side. A post that is deleted is
/// left out (must_not), asking again until no ranked post is a deleted one. Returns one
/// response whose per_day holds the days' buckets in order, as the file's own answer would.
json::value q2_response(es_client& es, const query_config& config,
                        const std::vector<json::value>& bodies) {
    const auto index = config.es.entities_index();
    std::set<std::string> excluded;
    for (int round = 0; round < 100; ++round) {
        std::vector<json::value> qs = bodies;
        if (!excluded.empty()) {
            json::array ids;
            for (const auto& id : excluded) ids.push_back(json::value(id));
            for (auto& q : qs)
                q.at("query").at("bool").as_object()["must_not"] =
                    json::array{json::object{{"terms", {{"post_id", ids}}}}};
        }
        const auto responses =
            multi_search(es, index, qs,
                         "responses.aggregations.per_day.buckets.key_as_string,"
                         "responses.aggregations.per_day.buckets.top_posts.buckets.key,"
                         "responses.aggregations.per_day.buckets.top_posts.buckets.doc_count");
        json::array days;
        std::set<std::string> ranked;
        for (const auto& response : responses) {
            for (const auto& day : buckets(obj(obj(response.as_object(), "aggregations"), "per_day"))) {
                json::object d = day.as_object();
                // filter_path drops an empty list
                const auto* top = d.if_contains("top_posts");
                if (!top || !top->is_object() || !top->as_object().contains("buckets"))
                    d["top_posts"] = json::object{{"buckets", json::array{}}};
                for (const auto& p : buckets(d.at("top_posts").as_object()))
                    ranked.insert(str(p.at("key")));
                days.push_back(std::move(d));
            }
        }
        const auto deleted =
            deleted_posts(es, index, std::vector<std::string>(ranked.begin(), ranked.end()));
        if (deleted.empty())
            return json::object{{"aggregations", {{"per_day", {{"buckets", std::move(days)}}}}}};
        excluded.insert(deleted.begin(), deleted.end());
    }
    throw std::runtime_error("q2: too many deleted posts among the ranked ones");
}

constexpr const char* q2_days_file = "q2_days.json";

std::int64_t now_epoch_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// q2, one search per calendar day of the range (their labels and bounds from q2_days.json:
/// a date_histogram in tz over no document), each the stored file with {{from}} = {{to}} =
/// that day; a closed day comes from `cache` when it holds it. A range of more than 90 days
/// (the CLI's) stays one search of the file.
json::value q2_run(es_client& es, const query_config& config, const std::string& file,
                   const query_params& params, day_cache* cache) {
    constexpr std::size_t max_split = 90;
    auto p = params;
    p["to_next"] = p.at("to") + "+1d";  // the bucket after the last day: its end
    const auto bounds = parse_response(
        search(es, config.es.entities_index(),
               substitute(load_query_file(config.queries_dir, q2_days_file), p)));
    const auto& keys = buckets(obj(obj(bounds.as_object(), "aggregations"), "days"));
    if (keys.size() < 2 || keys.size() - 1 > max_split)
        return q2_response(es, config, {json::parse(substitute(file, params))});
    const auto now = now_epoch_ms();
    struct day {
        std::string label, key;
        std::int64_t end_ms = 0;
        std::optional<json::value> bucket;
    };
    std::vector<day> days;
    std::vector<json::value> bodies;
    std::vector<std::size_t> asked;  // index in days of each body
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
        day d;
        d.label = str(keys[i].at("key_as_string"));
        d.end_ms = keys[i + 1].at("key").to_number<std::int64_t>();
        d.key = "q2|" + config.es.entities_index() + "|" + config.tz + "|" + d.label;
        if (cache) d.bucket = cache->get(d.key, now);
        if (!d.bucket) {
            auto one = params;
            one["from"] = d.label + "||/d";
            one["to"] = d.label + "||/d";
            bodies.push_back(json::parse(substitute(file, one)));
            asked.push_back(days.size());
        }
        days.push_back(std::move(d));
    }
    if (!bodies.empty()) {
        auto fresh = q2_response(es, config, bodies);
        auto& list = fresh.at("aggregations").at("per_day").at("buckets").as_array();
        if (list.size() != bodies.size())
            throw std::runtime_error("q2: a day's search did not answer one day");
        for (std::size_t k = 0; k < list.size(); ++k) {
            auto& d = days[asked[k]];
            if (cache) cache->put(d.key, list[k], d.end_ms, now);
            d.bucket = std::move(list[k]);
        }
    }
    json::array out;
    for (auto& d : days) out.push_back(std::move(*d.bucket));
    return json::object{{"aggregations", {{"per_day", {{"buckets", std::move(out)}}}}}};
}

}  // namespace

json::value q1_merge(json::value first, const std::map<std::string, std::int64_t>& users) {
    auto& per_day = first.at("aggregations").at("per_day").as_object();
    for (auto& b : per_day.at("buckets").as_array()) {
        const auto it = users.find(str(b.at("key_as_string")));
        b.as_object()["users"] =
            json::object{{"value", it == users.end() ? std::int64_t{0} : it->second}};
    }
    return first;
}

void q3_ranking::add(const json::object& bucket) {
    if (count(bucket.at("post").at("doc_count")) == 0) return;  // comments of no (live) post
    candidate c;
    c.comments = count(bucket.at("comments").at("doc_count"));
    const auto& created = bucket.at("post").at("created").as_object();
    const auto& v = created.at("value");
    c.created = v.is_number() ? v.to_number<double>() : 0.0;
    const auto& key = bucket.at("key").at("post");
    c.number = key.is_string() ? std::stoll(std::string(key.get_string()))
                               : key.to_number<std::int64_t>();
    json::object post{{"doc_count", 1}, {"created", created}};
    c.bucket = json::object{{"key", std::to_string(c.number)},
                            {"comments", {{"doc_count", c.comments}}},
                            {"post", std::move(post)}};
    // best: most comments, then the older post, then the lower id
    if (!best_ || std::tie(c.comments, best_->created, best_->number) >
                      std::tie(best_->comments, c.created, c.number))
        best_ = c;
    // worst: fewest comments, then the newer post, then the higher id
    if (!worst_ || std::tie(worst_->comments, c.created, c.number) >
                       std::tie(c.comments, worst_->created, worst_->number))
        worst_ = std::move(c);
}

std::optional<json::value> day_cache::get(const std::string& key, std::int64_t now_ms) {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires_ms <= now_ms) {
        entries_.erase(it);
        return std::nullopt;
    }
    ++hits_;
    return it->second.value;
}

void day_cache::put(const std::string& key, json::value value, std::int64_t day_end_ms,
                    std::int64_t now_ms) {
    if (options_.ttl_ms <= 0 || day_end_ms + options_.settle_ms > now_ms) return;
    const std::lock_guard lock(mutex_);
    if (now_ms < hold_until_ms_) return;
    if (entries_.size() >= options_.max_entries) entries_.clear();  // rare: many zones
    entries_[key] = entry{now_ms + options_.ttl_ms, std::move(value)};
}

void day_cache::invalidate(std::int64_t now_ms) {
    const std::lock_guard lock(mutex_);
    entries_.clear();
    hold_until_ms_ = std::max(hold_until_ms_, now_ms + options_.hold_ms);
}

std::size_t day_cache::size() const {
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t day_cache::hits() const {
    const std::lock_guard lock(mutex_);
    return hits_;
}

json::value q3_ranking::response() const {
    json::array top, worst;
    if (best_) top.push_back(best_->bucket);
    if (worst_) worst.push_back(worst_->bucket);
    return json::object{{"aggregations",
                         {{"top_post", {{"buckets", std::move(top)}}},
                          {"worst_post", {{"buckets", std::move(worst)}}}}}};
}

boost::json::object analytics_rows(std::string_view name, std::string_view response,
                                   const query_config& config, const post_lookup& lookup,
                                   const std::string& user_id) {
    return rows_of(name, parse_response(response), config, lookup, user_id);
}

boost::json::object run_analytics(es_client& es, const query_config& config,
                                  const post_lookup& lookup, day_cache* cache) {
    if (config.name == "q1")  // its files take parameters of its own (q1_response)
        return rows_of("q1", q1_response(es, config), config, lookup, {});
    std::string user_id = config.user_id;
    if (config.name == "q3" && user_id.empty()) user_id = lookup_user_id(es, config);
    const auto file = load_query_file(config.queries_dir, query_file(config.name));
    const auto params = query_parameters(config, user_id);
    json::value response;
    if (config.name == "q2") {
        response = q2_run(es, config, file, params, cache);
    } else {
        const auto body = substitute(file, params);
        spdlog::debug("module=telemetry event=query name={} body={}", config.name, body);
        response = q3_response(es, config, body);
    }
    return rows_of(config.name, response, config, lookup, user_id);
}

std::string render_table(std::string_view name, const boost::json::object& rows) {
    if (name == "q1") return table_q1(rows);
    if (name == "q2") return table_q2(rows);
    return table_q3(rows);
}

}  // namespace bsocial::telemetry
