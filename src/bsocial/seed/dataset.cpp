#include "bsocial/seed/dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <unordered_set>

namespace bsocial::seed {

namespace {

/// splitmix64: small, fast, and the same on every platform (std distributions are not).
class random {
  public:
    explicit random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n).
    std::uint64_t below(std::uint64_t n) {
        return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
    }
    /// Uniform in [0, 1).
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  private:
    std::uint64_t state_;
};

/// Draws indexes 0..n-1 with probability proportional to 1 / (rank + 1)^exponent, where
/// the ranks are a random permutation: who is popular is itself random.
class power_law {
  public:
    power_law(std::size_t n, double exponent, random& rng) : who_(n), cumulative_(n) {
        std::iota(who_.begin(), who_.end(), 0);
        for (std::size_t i = n; i > 1; --i) std::swap(who_[i - 1], who_[rng.below(i)]);
        double sum = 0;
        for (std::size_t r = 0; r < n; ++r) {
            sum += 1.0 / std::pow(static_cast<double>(r + 1), exponent);
            cumulative_[r] = sum;
        }
    }
    std::int32_t draw(random& rng) const {
        const double u = rng.unit() * cumulative_.back();
        const auto r =
            std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin();
        return who_[std::min<std::size_t>(static_cast<std::size_t>(r), who_.size() - 1)];
    }

  private:
    std::vector<std::int32_t> who_;
    std::vector<double> cumulative_;
};

constexpr std::int64_t day_ms = 86'400'000;

constexpr std::array<const char*, 48> words = {
    "the",     "engine", "runs",   "today",  "coffee",  "morning", "city",    "light",
    "music",   "new",    "idea",   "garden", "rain",    "train",   "friends", "book",
    "reading", "walk",   "river",  "code",   "release", "weekend", "dinner",  "sun",
    "photo",   "travel", "winter", "sea",    "market",  "bread",   "night",   "stars",
    "project", "team",   "launch", "bug",    "fixed",   "again",   "finally", "great",
    "small",   "quiet",  "loud",   "happy",  "long",    "short",   "street",  "home"};

}  // namespace

void options::validate() const {
    const auto require = [](bool ok, const char* what) {
        if (!ok) throw std::invalid_argument(what);
    };
    require(users >= 2 && users <= 10'000'000, "--users must be 2..10000000");
    require(follows >= 0 && follows < users, "--follows must be 0..users-1");
    require(posts >= 0 && posts <= 100'000'000, "--posts must be 0..100000000");
    require(comments >= 0 && comments <= 100'000'000, "--comments must be 0..100000000");
    require(comments == 0 || posts > 0, "--comments needs posts");
    require(days >= 1 && days <= 3650, "--days must be 1..3650");
    require(shape_users >= 0 && shape_users <= 1000, "--shape-users must be 0..1000");
    require(heavy_follows >= 0 && heavy_follows <= users, "--heavy-follows must be 0..users");
    require(star_share >= 0 && star_share < 1, "--star-share must be in [0, 1)");
    require(end_ms > static_cast<std::int64_t>(days) * day_ms, "end time must be set");
}

std::int64_t dataset::follow_count() const {
    std::int64_t n = 0;
    for (const auto& f : followees) n += static_cast<std::int64_t>(f.size());
    return n;
}

std::string sample_text(std::uint64_t seed, std::int64_t index, int min_words, int max_words) {
    random rng(seed ^ (static_cast<std::uint64_t>(index) * 0xd1342543de82ef95ULL));
    const int n = min_words + static_cast<int>(rng.below(max_words - min_words + 1));
    std::string text;
    for (int i = 0; i < n; ++i) {
        if (i) text += ' ';
        text += words[rng.below(words.size())];
    }
    return text;
}

dataset generate(const options& opts) {
    opts.validate();
    random rng(opts.seed);
    dataset d;
    const std::int64_t start_ms = opts.end_ms - static_cast<std::int64_t>(opts.days) * day_ms;
    const auto add_user = [&](std::string name) {
        d.usernames.push_back(std::move(name));
        d.user_created_at.push_back(start_ms - day_ms +
                                    static_cast<std::int64_t>(rng.below(day_ms)));
        d.followees.emplace_back();
        return static_cast<std::int32_t>(d.usernames.size() - 1);
    };
    char name[32];
    for (int i = 0; i < opts.users; ++i) {
        std::snprintf(name, sizeof name, "user_%06d", i);
        add_user(name);
    }
    const int n = opts.users;
    std::vector<std::int32_t> sparse, fresh, heavy, fans, quiet;
    for (int i = 0; i < opts.shape_users; ++i) {
        std::snprintf(name, sizeof name, "sparse_%02d", i);
        sparse.push_back(add_user(name));
        std::snprintf(name, sizeof name, "new_%02d", i);
        fresh.push_back(add_user(name));
        std::snprintf(name, sizeof name, "heavy_%02d", i);
        heavy.push_back(add_user(name));
        std::snprintf(name, sizeof name, "fan_%02d", i);
        fans.push_back(add_user(name));
        for (int k = 0; k < 2; ++k) {
            std::snprintf(name, sizeof name, "quiet_%02d_%d", i, k);
            quiet.push_back(add_user(name));
        }
    }
    const std::int32_t star = opts.star_share > 0 ? add_user("star") : -1;

    // Follows among regular users by popularity; the shapes by construction.
    const power_law popularity(n, 1.0, rng);
    for (std::int32_t u = 0; u < n; ++u) {
        std::unordered_set<std::int32_t> picked;
        while (static_cast<int>(picked.size()) < opts.follows) {
            const std::int32_t v = popularity.draw(rng);
            if (v != u) picked.insert(v);
        }
        d.followees[u].assign(picked.begin(), picked.end());
    }
    for (std::size_t i = 0; i < sparse.size(); ++i)
        d.followees[sparse[i]] = {quiet[2 * i], quiet[2 * i + 1]};
    for (const std::int32_t h : heavy) {
        std::unordered_set<std::int32_t> picked;
        while (static_cast<int>(picked.size()) < opts.heavy_follows)
            picked.insert(static_cast<std::int32_t>(rng.below(n)));
        d.followees[h].assign(picked.begin(), picked.end());
    }
    for (const std::int32_t f : fans) d.followees[f] = {star};
    for (auto& f : d.followees) std::sort(f.begin(), f.end());

    // Posts: (time, author), then sorted by time so ids grow with time.
    std::vector<std::pair<std::int64_t, std::int32_t>> posts;
    posts.reserve(static_cast<std::size_t>(opts.posts));
    for (const std::int32_t q : quiet)  // one old post each
        posts.emplace_back(start_ms + static_cast<std::int64_t>(rng.below(day_ms)), q);
    const auto star_posts =
        star >= 0 ? static_cast<std::int64_t>(static_cast<double>(opts.posts) * opts.star_share)
                  : 0;
    const auto window = static_cast<std::uint64_t>(opts.end_ms - start_ms);
    for (std::int64_t i = 0; i < star_posts; ++i)
        posts.emplace_back(start_ms + static_cast<std::int64_t>(rng.below(window)), star);
    const power_law activity(n, 0.8, rng);
    while (static_cast<std::int64_t>(posts.size()) < opts.posts)
        posts.emplace_back(start_ms + static_cast<std::int64_t>(rng.below(window)),
                           activity.draw(rng));
    std::sort(posts.begin(), posts.end());
    d.post_author.reserve(posts.size());
    d.post_created_at.reserve(posts.size());
    d.posts_by_author.resize(d.usernames.size());
    for (std::size_t j = 0; j < posts.size(); ++j) {
        d.post_created_at.push_back(posts[j].first);
        d.post_author.push_back(posts[j].second);
        d.posts_by_author[posts[j].second].push_back(static_cast<std::int32_t>(j));
    }
    posts = {};

    // Comments by regular users on random posts, within two days of the post. Sorted by
    // post so that the comments index is written in order.
    d.post_comment_count.assign(d.post_author.size(), 0);
    std::vector<std::tuple<std::int32_t, std::int64_t, std::int32_t>> comments;
    comments.reserve(static_cast<std::size_t>(opts.comments));
    for (std::int64_t k = 0; k < opts.comments; ++k) {
        const auto p = static_cast<std::int32_t>(rng.below(d.post_author.size()));
        const std::int64_t room = std::min(2 * day_ms, opts.end_ms - d.post_created_at[p]);
        const std::int64_t at = d.post_created_at[p] +
                                static_cast<std::int64_t>(rng.below(
                                    static_cast<std::uint64_t>(std::max<std::int64_t>(room, 1))));
        comments.emplace_back(p, at, static_cast<std::int32_t>(rng.below(n)));
        ++d.post_comment_count[p];
    }
    std::sort(comments.begin(), comments.end());
    for (const auto& [p, at, who] : comments) {
        d.comment_post.push_back(p);
        d.comment_created_at.push_back(at);
        d.comment_author.push_back(who);
    }
    return d;
}

std::vector<bool> celebrities(const dataset& d, int celebrity_followers) {
    std::vector<std::int64_t> followers(d.usernames.size(), 0);
    for (const auto& f : d.followees)
        for (const std::int32_t v : f) ++followers[v];
    std::vector<bool> out(d.usernames.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = followers[i] >= celebrity_followers;
    return out;
}

built_timeline build_timeline(const dataset& d, std::int32_t user,
                              const std::vector<bool>& celebrity, int capacity) {
    // k-way merge of the followees' post lists, newest first (a post index is its age
    // order: larger = newer).
    struct head {
        std::int32_t post;
        std::int32_t author;
        std::int32_t position;  ///< in posts_by_author[author]
        bool operator<(const head& o) const { return post < o.post; }
    };
    std::priority_queue<head> heads;
    const auto add = [&](std::int32_t v) {
        const auto& list = d.posts_by_author[v];
        if (!list.empty()) heads.push({list.back(), v, static_cast<std::int32_t>(list.size()) - 1});
    };
    add(user);  // own posts, celebrity or not
    for (const std::int32_t v : d.followees[user])
        if (!celebrity[v]) add(v);
    built_timeline t;
    while (!heads.empty()) {
        head h = heads.top();
        heads.pop();
        if (static_cast<int>(t.posts.size()) == capacity) {
            t.horizon = h.post;
            break;
        }
        t.posts.push_back(h.post);
        if (h.position > 0) {
            --h.position;
            h.post = d.posts_by_author[h.author][h.position];
            heads.push(h);
        }
    }
    return t;
}

}  // namespace bsocial::seed
