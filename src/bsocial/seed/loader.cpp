#include "bsocial/seed/loader.hpp"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string_view>

#include "bsocial/seed/sql.hpp"
#include "bsocial/social/search_keys.hpp"

namespace bsocial::seed {

namespace {

using steady = std::chrono::steady_clock;

/// Every seeded account's first name (its last name is its username).
constexpr std::string_view seeded_first_name = "Seeded";

/// One line on stderr, redrawn at most ten times a second.
class progress {
  public:
    progress(std::int64_t total, bool enabled) : total_(total), enabled_(enabled) {}
    void advance(const char* table, std::int64_t rows) {
        done_ += rows;
        const auto now = steady::now();
        if (!enabled_ || now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        draw(table);
    }
    void finish() {
        if (!enabled_) return;
        draw("done");
        std::fputc('\n', stderr);
    }
    std::int64_t done() const noexcept { return done_; }
    double seconds() const { return std::chrono::duration<double>(steady::now() - start_).count(); }

  private:
    void draw(const char* table) const {
        const double s = seconds();
        const double rate = s > 0 ? static_cast<double>(done_) / s : 0;
        const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
        const int width = 30;
        const int filled =
            total_ > 0 ? static_cast<int>(width * static_cast<double>(done_) / total_) : width;
        std::string bar(static_cast<std::size_t>(std::min(filled, width)), '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r  [%s] %5.1f%%  %-15s %11lld rows  %9.0f rows/s  ETA %4.0fs ",
                     bar.c_str(), total_ > 0 ? 100.0 * done_ / total_ : 100.0, table,
                     static_cast<long long>(done_), rate, eta);
    }

    std::int64_t total_;
    bool enabled_;
    std::int64_t done_ = 0;
    steady::time_point start_ = steady::now();
    steady::time_point last_{};
};

/// Rows into one table, many at a time: multi-row INSERTs on SQLite, COPY on PostgreSQL.
/// Values come from the generator (digits, letters, spaces and the hash's "$,=/+"), never
/// from users; quotes and COPY's special characters are rejected all the same.
class bulk_writer {
  public:
    bulk_writer(soci::session& sql, store::dialect kind, const table_rows& rows, progress& bar)
        : sql_(sql), kind_(kind), table_(rows.table), columns_(rows.columns), bar_(bar) {
        if (kind_ == store::dialect::postgresql) {
            conn_ = static_cast<soci::postgresql_session_backend*>(sql_.get_backend())->conn_;
            const std::string copy = "COPY " + table_ + " (" + columns_ + ") FROM STDIN";
            PGresult* r = PQexec(conn_, copy.c_str());
            const bool ok = PQresultStatus(r) == PGRES_COPY_IN;
            PQclear(r);
            if (!ok)
                throw std::runtime_error("COPY " + table_ + " failed: " + PQerrorMessage(conn_));
        }
    }

    void field(std::int64_t v) {
        separate();
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
        buffer_.append(digits, end);
    }
    void field(std::string_view text) {
        for (const char c : text)
            if (c == '\'' || c == '\\' || c == '\t' || c == '\n')
                throw std::logic_error("seed text must not need escaping");
        separate();
        if (kind_ == store::dialect::sqlite) buffer_ += '\'';
        buffer_ += text;
        if (kind_ == store::dialect::sqlite) buffer_ += '\'';
    }
    void end_row() {
        buffer_ += kind_ == store::dialect::sqlite ? ")" : "\n";
        in_row_ = false;
        if (++rows_ == batch_rows) flush();
    }
    void finish() {
        flush();
        if (kind_ == store::dialect::postgresql) {
            if (PQputCopyEnd(conn_, nullptr) != 1) fail();
            bool ok = true;
            while (PGresult* r = PQgetResult(conn_)) {
                ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
                PQclear(r);
            }
            if (!ok) fail();
        }
    }

  private:
    static constexpr int batch_rows = 1000;

    void separate() {
        if (in_row_) {
            buffer_ += kind_ == store::dialect::sqlite ? "," : "\t";
            return;
        }
        in_row_ = true;
        if (kind_ == store::dialect::sqlite)
            buffer_ += rows_ == 0 ? "INSERT INTO " + table_ + " (" + columns_ + ") VALUES (" : ",(";
    }
    void flush() {
        if (rows_ == 0) return;
        if (kind_ == store::dialect::sqlite) {
            sql_ << buffer_;
        } else if (PQputCopyData(conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
            fail();
        }
        bar_.advance(table_.c_str(), rows_);
        buffer_.clear();
        rows_ = 0;
    }
    [[noreturn]] void fail() {
        throw std::runtime_error("COPY " + table_ + " failed: " + PQerrorMessage(conn_));
    }

    soci::session& sql_;
    store::dialect kind_;
    std::string table_;
    std::string columns_;
    progress& bar_;
    PGconn* conn_ = nullptr;
    std::string buffer_;
    int rows_ = 0;
    bool in_row_ = false;
};

}  // namespace

load_totals load(store::database& db, const dataset& d, const options& opts,
                 const social::timeline_settings& feed, const std::string& password_hash,
                 bool show_progress) {
    db.migrate();
    store::lease sql_lease(db);
    soci::session& sql = *sql_lease;
    const store::dialect kind = db.kind();
    int existing = 0;
    sql << count_users_sql, soci::into(existing);
    if (existing > 0) throw std::runtime_error("the database already has users: seed an empty one");

    // Timelines first: their size is part of the progress total.
    const auto celebrity = celebrities(d, feed.celebrity_followers);
    std::vector<built_timeline> timelines;
    timelines.reserve(d.usernames.size());
    std::int64_t timeline_rows = 0;
    for (std::size_t u = 0; u < d.usernames.size(); ++u) {
        timelines.push_back(
            build_timeline(d, static_cast<std::int32_t>(u), celebrity, feed.capacity));
        timeline_rows += static_cast<std::int64_t>(timelines.back().posts.size());
    }
    const auto users = static_cast<std::int64_t>(d.usernames.size());
    std::vector<std::vector<std::string>> search_keys;
    search_keys.reserve(d.usernames.size());
    std::int64_t search_key_rows = 0;
    for (const std::string& name : d.usernames) {
        search_keys.push_back(social::search_keys_of(name, seeded_first_name, name));
        search_key_rows += static_cast<std::int64_t>(search_keys.back().size());
    }
    const std::int64_t total = users + search_key_rows + d.follow_count() +
                               static_cast<std::int64_t>(d.post_author.size()) +
                               static_cast<std::int64_t>(d.comment_post.size()) + timeline_rows;
    progress bar(total, show_progress);

    if (kind == store::dialect::sqlite) {
        // A throw-away load: no journal, no fsync, a large cache. WAL again at the end.
        for (const char* pragma : sqlite_fast_load_sql) sql << pragma;
    }
    sql << "BEGIN";
    {
        bulk_writer w(sql, kind, users_rows, bar);
        for (std::int64_t i = 0; i < users; ++i) {
            const std::string& name = d.usernames[static_cast<std::size_t>(i)];
            w.field(i + 1);
            w.field(name);
            w.field(name + "@seed.example");
            w.field(seeded_first_name);
            w.field(name);
            w.field(password_hash);
            w.field(d.user_created_at[static_cast<std::size_t>(i)]);
            w.end_row();
        }
        w.finish();
    }
    {
        bulk_writer w(sql, kind, search_keys_rows, bar);
        for (std::int64_t i = 0; i < users; ++i) {
            for (const std::string& key : search_keys[static_cast<std::size_t>(i)]) {
                w.field(key);
                w.field(i + 1);
                w.end_row();
            }
        }
        w.finish();
        sql << search_keys_done_sql, soci::use(users);
    }
    {
        bulk_writer w(sql, kind, follows_rows, bar);
        for (std::int64_t u = 0; u < users; ++u) {
            for (const std::int32_t v : d.followees[static_cast<std::size_t>(u)]) {
                w.field(u + 1);
                w.field(std::int64_t{v} + 1);
                w.field(opts.end_ms - static_cast<std::int64_t>(opts.days) * 86'400'000);
                w.end_row();
            }
        }
        w.finish();
    }
    {
        bulk_writer w(sql, kind, posts_rows, bar);
        for (std::size_t j = 0; j < d.post_author.size(); ++j) {
            w.field(static_cast<std::int64_t>(j) + 1);
            w.field(std::int64_t{d.post_author[j]} + 1);
            w.field(sample_text(opts.seed, static_cast<std::int64_t>(j), 4, 24));
            w.field(d.post_created_at[j]);
            w.field(std::int64_t{d.post_comment_count[j]});
            w.end_row();
        }
        w.finish();
    }
    {
        bulk_writer w(sql, kind, comments_rows, bar);
        for (std::size_t k = 0; k < d.comment_post.size(); ++k) {
            w.field(static_cast<std::int64_t>(k) + 1);
            w.field(std::int64_t{d.comment_post[k]} + 1);
            w.field(std::int64_t{d.comment_author[k]} + 1);
            w.field(sample_text(opts.seed + 1, static_cast<std::int64_t>(k), 2, 12));
            w.field(d.comment_created_at[k]);
            w.end_row();
        }
        w.finish();
    }
    {
        bulk_writer w(sql, kind, home_timeline_rows, bar);
        for (std::int64_t u = 0; u < users; ++u) {
            for (const std::int32_t j : timelines[static_cast<std::size_t>(u)].posts) {
                w.field(u + 1);
                w.field(d.post_created_at[static_cast<std::size_t>(j)]);
                w.field(std::int64_t{j} + 1);
                w.field(std::int64_t{d.post_author[static_cast<std::size_t>(j)]} + 1);
                w.end_row();
            }
        }
        w.finish();
    }
    {
        bulk_writer w(sql, kind, home_timeline_state_rows, bar);
        for (std::int64_t u = 0; u < users; ++u) {
            const std::int64_t h = timelines[static_cast<std::size_t>(u)].horizon;
            if (h < 0) continue;
            w.field(u + 1);
            w.field(d.post_created_at[static_cast<std::size_t>(h)]);
            w.field(h + 1);
            w.end_row();
        }
        w.finish();
    }
    {
        bulk_writer w(sql, kind, celebrities_rows, bar);
        for (std::int64_t u = 0; u < users; ++u) {
            if (!celebrity[static_cast<std::size_t>(u)]) continue;
            w.field(u + 1);
            w.field(opts.end_ms);
            w.end_row();
        }
        w.finish();
    }
    if (kind == store::dialect::postgresql) {
        // Explicit ids leave the identity sequences behind: move them past the seeded rows.
        for (const char* table : {"users", "posts", "comments"}) sql << reset_sequence_sql(table);
    }
    sql << "COMMIT";
    if (kind == store::dialect::sqlite) {
        for (const char* pragma : sqlite_after_load_sql) sql << pragma;
    } else {
        sql << "ANALYZE";
    }
    bar.finish();
    return {bar.done(), bar.seconds()};
}

}  // namespace bsocial::seed
