#include "bsocial/social/fanout.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bsocial/core/prometheus.hpp"
#include "bsocial/social/sql.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::social {

namespace {
struct queued_post {
    std::int64_t post_id = 0;
    std::int64_t author_id = 0;
    std::int64_t created_at = 0;
};
}  // namespace

timeline_fanout::timeline_fanout(store::database& db, const timelines& timelines,
                                 const clock& clock, fanout_options options)
    : db_(db),
      conns_(db.make_pool(1, "fanout")),
      timelines_(timelines),
      clock_(clock),
      options_(options) {}

timeline_fanout::~timeline_fanout() { stop(); }

void timeline_fanout::start() {
    worker_.start([this] { run(); });
}

void timeline_fanout::stop() { worker_.stop(); }

void timeline_fanout::nudge() { worker_.nudge(); }

fanout_status timeline_fanout::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

std::int64_t timeline_fanout::backlog() {
    store::lease sql_lease(*conns_);
    soci::session& sql = *sql_lease;
    std::int64_t n = 0;
    sql << fanout_backlog_sql, soci::into(n);
    return n;
}

int timeline_fanout::run_once() { return run_once(options_.batch_size, false); }

namespace {
/// A PostgreSQL array literal of ids: {1,2,3}.
template <class Ids>
std::string array_of(const Ids& ids) {
    std::string out = "{";
    for (const std::int64_t id : ids) {
        if (out.size() > 1) out += ',';
        out += std::to_string(id);
    }
    out += '}';
    return out;
}

void bind_queued(soci::statement& st, queued_post& row) {
    st.exchange(soci::into(row.post_id));
    st.exchange(soci::into(row.author_id));
    st.exchange(soci::into(row.created_at));
}

void bind_user(soci::statement& st, std::int64_t& id) { st.exchange(soci::into(id)); }
}  // namespace

int timeline_fanout::run_once_postgresql(int batch_size) {
    store::lease sql_lease(*conns_);
    return fan_out_batch_postgresql(*sql_lease, batch_size, claimed_first_);
}

int timeline_fanout::relieve(soci::session& sql, std::int64_t queued) noexcept {
    if (options_.max_backlog <= 0 || queued <= options_.max_backlog) return 0;
    try {
        std::int64_t first = 0;
        const int done = fan_out_batch_postgresql(sql, options_.help_batch, first);
        std::lock_guard lock(status_mutex_);
        status_.helped_total += done;
        return done;
    } catch (const std::exception& e) {
        // The post itself is committed; its batch stays queued for the next one.
        spdlog::warn("module=social event=fanout_relieve_failed queued={} error=\"{}\"", queued,
                     store::describe_error(e));
        std::lock_guard lock(status_mutex_);
        ++status_.help_failures;
        return 0;
    } catch (...) {
        std::lock_guard lock(status_mutex_);
        ++status_.help_failures;
        return 0;
    }
}

int timeline_fanout::fan_out_batch_postgresql(soci::session& sql, int batch_size,
                                              std::int64_t& first) {
    try {
        return fan_out_batch_postgresql(sql, batch_size, first, false);
    } catch (const std::exception& e) {
        // An entry was there already (a follow's backfill copied a queued post): the whole
        // batch was rolled back, queue rows included. Again, skipping what is there.
        if (!store::is_unique_violation(e)) throw;
        {
            std::lock_guard lock(status_mutex_);
            ++status_.conflict_retries;
        }
        return fan_out_batch_postgresql(sql, batch_size, first, true);
    }
}

int timeline_fanout::fan_out_batch_postgresql(soci::session& sql, int batch_size,
                                              std::int64_t& first, bool skip_existing) {
    auto& statements = db_.statements();
    store::write_transaction tx(sql, db_);
    first = 0;
    // Out of the queue and fanned out in one transaction, whatever the batch's size: a
    // constant number of statements (the queue's rows, the authors' locks, every timeline
    // row, the trims), so a burst costs rows, not round trips.
    std::vector<queued_post> batch = statements.run<queued_post>(
        sql, fanout_take_postgresql_sql, {std::int64_t{batch_size}}, bind_queued);
    if (batch.empty()) return 0;
    std::sort(batch.begin(), batch.end(),
              [](const queued_post& a, const queued_post& b) { return a.post_id < b.post_id; });
    first = batch.front().post_id;
    // Authors' locks in one order, so that two workers never wait for each other.
    std::vector<std::int64_t> keys;
    for (const auto& p : batch) keys.push_back(timelines::author_lock_key(p.author_id));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    statements.run<std::int64_t>(sql, lock_authors_sql, {array_of(keys)}, bind_user);
    std::vector<std::int64_t> posts, authors, times;
    std::int64_t newest = 0;
    for (const auto& p : batch) {
        posts.push_back(p.post_id);
        authors.push_back(p.author_id);
        times.push_back(p.created_at);
        newest = std::max(newest, p.created_at);
    }
    // Sorted: concurrent batches (every replica's worker, requests over the max backlog)
    // trim shared timelines in one order.
    auto to_trim = statements.run<std::int64_t>(
        sql, skip_existing ? fan_out_batch_sql : fan_out_batch_plain_sql,
        {array_of(posts), array_of(authors), array_of(times),
         std::int64_t{timelines_.trim_every()}},
        bind_user);
    std::sort(to_trim.begin(), to_trim.end());
    if (!to_trim.empty())
        statements.execute(sql, trim_batch_sql,
                           {array_of(to_trim), std::int64_t{timelines_.settings().capacity}});
    tx.commit();
    const int done = static_cast<int>(batch.size());
    std::lock_guard lock(status_mutex_);
    status_.posts_total += done;
    ++status_.batches_total;
    status_.last_lag_seconds = static_cast<double>(clock_.now_ms() - newest) / 1000.0;
    return done;
}

int timeline_fanout::run_once(int batch_size, bool yield_to_writers) {
    if (db_.kind() == store::dialect::postgresql) return run_once_postgresql(batch_size);
    store::lease sql_lease(*conns_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    claimed_first_ = 0;
    std::vector<queued_post> batch;
    {
        queued_post row;
        soci::statement st =
            (sql.prepare << (db_.kind() == store::dialect::sqlite ? fanout_claim_sqlite_sql
                                                                  : fanout_claim_postgresql_sql),
             soci::into(row.post_id), soci::into(row.author_id), soci::into(row.created_at),
             soci::use(batch_size));
        st.execute();
        while (st.fetch()) batch.push_back(row);
    }
    if (batch.empty()) return 0;
    claimed_first_ = batch.front().post_id;
    // Authors' locks in one order, so that two workers never wait for each other.
    std::vector<std::int64_t> authors;
    for (const auto& p : batch) authors.push_back(p.author_id);
    std::sort(authors.begin(), authors.end());
    authors.erase(std::unique(authors.begin(), authors.end()), authors.end());
    for (const std::int64_t a : authors) timelines_.lock_author(sql, a);
    std::int64_t newest = 0;
    int done = 0;
    for (const auto& p : batch) {
        timelines_.fan_out(sql, p.post_id, p.author_id, p.created_at);
        sql << fanout_done_sql, soci::use(p.post_id);
        newest = std::max(newest, p.created_at);
        ++done;
        // SQLite: a request is waiting to write. Commit what is done and let it go first,
        // so that it waits for one post's fan-out, not a batch's. The rest stays queued.
        if (yield_to_writers && db_.writers_waiting() > 0) break;
    }
    tx.commit();
    std::lock_guard lock(status_mutex_);
    status_.posts_total += done;
    status_.last_lag_seconds = static_cast<double>(clock_.now_ms() - newest) / 1000.0;
    return done;
}

void timeline_fanout::park(std::int64_t post_id, const std::exception& why) {
    const std::string reason = store::describe_error(why);
    spdlog::error(
        "module=social event=fanout_post_parked post_id={} attempts={} reason=\"{}\" "
        "action=removed_from_queue (row in timeline_fanout_parked)",
        post_id, options_.max_attempts, reason);
    try {
        store::lease sql_lease(*conns_);
        soci::session& sql = *sql_lease;
        store::write_transaction tx(sql, db_);
        const std::int64_t now = clock_.now_ms();
        sql << fanout_park_sql, soci::use(reason), soci::use(now), soci::use(post_id);
        sql << fanout_done_sql, soci::use(post_id);
        tx.commit();
    } catch (const std::exception& e) {
        spdlog::error("module=social event=fanout_park_failed post_id={} error=\"{}\"", post_id,
                      store::describe_error(e));
        return;  // still queued: tried again
    }
    std::lock_guard lock(status_mutex_);
    ++status_.parked_total;
}

bool timeline_fanout::small_backlog() {
    store::lease sql_lease(*conns_);
    soci::session& sql = *sql_lease;
    std::int64_t n = 0;
    sql << fanout_backlog_up_to_sql, soci::into(n), soci::use(options_.yield_below_backlog);
    return n < options_.yield_below_backlog;
}

void timeline_fanout::run() {
    spdlog::info("module=social event=fanout_started batch_size={}", options_.batch_size);
    auto wait = options_.idle_poll;
    int batch = options_.batch_size;
    int single_failures = 0;  // of the oldest queued post, alone, in a row
    std::int64_t writes_seen = db_.writes_begun();
    while (!worker_.stopping()) {
        int done = 0;
        try {
            // Requests write first while the queue is short enough for the feed to read
            // all of it; behind that, the fan-out takes whole batches (posts then wait
            // longer, but no feed misses a post).
            const bool yield = db_.kind() == store::dialect::sqlite && small_backlog();
            if (yield && db_.writes_begun() != writes_seen) {
                writes_seen = db_.writes_begun();
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            done = run_once(batch, yield);
            writes_seen = db_.writes_begun();  // this batch's own transaction
            // Behind (a full batch): take more at once, up to max_batch_size; each of a
            // follower's timeline pages is then written once for several posts.
            batch =
                done == batch ? std::min(2 * batch, options_.max_batch_size) : options_.batch_size;
            wait = options_.idle_poll;
            if (done > 0) single_failures = 0;
        } catch (const std::exception& e) {
            if (db_.transient(e)) {
                // The database is away or busy: the rows stay queued; try again later.
                spdlog::warn("module=social event=fanout_batch_failed error=\"{}\" action=retry",
                             store::describe_error(e));
                wait = std::min(wait * 2, std::chrono::milliseconds(5000));
            } else if (batch > 1) {
                // Permanent for some post of the batch: find it, one post at a time.
                spdlog::warn("module=social event=fanout_batch_failed error=\"{}\" action=one_by_one",
                             store::describe_error(e));
                batch = 1;
                wait = std::chrono::milliseconds(1);
            } else if (++single_failures >= options_.max_attempts && claimed_first_ != 0) {
                park(claimed_first_, e);
                single_failures = 0;
                wait = std::chrono::milliseconds(1);
            } else {
                wait = std::chrono::milliseconds(200);
            }
        }
        if (done > 0) {
            // More may be waiting. Let the writers that queued behind this batch go
            // first (the feed reads the queue meanwhile).
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        worker_.wait(wait);
    }
    spdlog::info("module=social event=fanout_stopped");
}

std::string timeline_fanout::metrics() {
    const auto s = status();
    return prometheus_metric("bsocial_timeline_fanout_posts_total", "counter",
                             "Posts copied into their followers' home timelines.",
                             static_cast<double>(s.posts_total)) +
           prometheus_metric("bsocial_timeline_fanout_backlog", "gauge",
                             "Posts waiting for the fan-out worker.",
                             static_cast<double>(backlog())) +
           prometheus_metric(
               "bsocial_timeline_fanout_lag_seconds", "gauge",
               "Post created -> in its followers' timelines, newest of the last batch.",
               s.last_lag_seconds) +
           prometheus_metric("bsocial_timeline_fanout_parked_total", "counter",
                             "Posts given up on after retries of a permanent database error "
                             "(rows in timeline_fanout_parked).",
                             static_cast<double>(s.parked_total)) +
           prometheus_metric("bsocial_timeline_fanout_helped_posts_total", "counter",
                             "Posts fanned out by post requests that found the queue over "
                             "BSOCIAL_FEED_FANOUT_MAX_BACKLOG (backpressure).",
                             static_cast<double>(s.helped_total)) +
           prometheus_metric("bsocial_timeline_fanout_help_failures_total", "counter",
                             "Such requests' batches that failed (left queued).",
                             static_cast<double>(s.help_failures)) +
           prometheus_metric("bsocial_timeline_fanout_batches_total", "counter",
                             "Fan-out transactions committed (PostgreSQL; posts_total / "
                             "batches_total is the mean batch).",
                             static_cast<double>(s.batches_total)) +
           prometheus_metric("bsocial_timeline_fanout_conflict_retries_total", "counter",
                             "PostgreSQL batches run again skipping timeline entries that "
                             "were there already (a follow copied a queued post).",
                             static_cast<double>(s.conflict_retries));
}

}  // namespace bsocial::social
