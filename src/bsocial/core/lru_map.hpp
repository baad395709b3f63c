#pragma once
// A map of at most `capacity` entries that forgets the least recently used one first: the
// one bounded cache under the checked sessions, the posts, the home timelines, the
// failed-login counters and the registration buckets.
//
// "Used" is what the caller says it is: find() and try_emplace() make an entry the most
// recently used, peek() and contains() leave the order alone. Each key is stored once
// (the index refers to the key held in its list node, which never moves). Not
// thread-safe: every user holds a mutex of its own around it, with the state it keeps
// beside it (epochs, counters).

#include <algorithm>
#include <cstddef>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>

namespace bsocial {

template <class Key, class Value, class Hash = std::hash<Key>>
class lru_map {
  public:
    /// At least one entry is kept, whatever `capacity` says.
    explicit lru_map(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

    lru_map(const lru_map&) = delete;
    lru_map& operator=(const lru_map&) = delete;

    /// The value of `key`, made the most recently used; nullptr when absent.
    Value* find(const Key& key) {
        const auto it = index_.find(&key);
        if (it == index_.end()) return nullptr;
        items_.splice(items_.begin(), items_, it->second);
        return &it->second->second;
    }

    /// The value of `key`, its place unchanged; nullptr when absent.
    Value* peek(const Key& key) {
        const auto it = index_.find(&key);
        return it == index_.end() ? nullptr : &it->second->second;
    }

    bool contains(const Key& key) const { return index_.contains(&key); }

    /// The value of `key`, made the most recently used: the one there (inserted false), or
    /// a new Value(args...) (inserted true). When the map is full, the least recently
    /// used entry goes first, handed to `on_evict(key, value)` just before.
    template <class OnEvict, class... Args>
    std::pair<Value*, bool> try_emplace_evicting(OnEvict&& on_evict, const Key& key,
                                                 Args&&... args) {
        if (Value* found = find(key)) return {found, false};
        if (items_.size() >= capacity_) {
            auto& oldest = items_.back();
            on_evict(oldest.first, oldest.second);
            index_.erase(&oldest.first);
            items_.pop_back();
        }
        items_.emplace_front(std::piecewise_construct, std::forward_as_tuple(key),
                             std::forward_as_tuple(std::forward<Args>(args)...));
        index_.emplace(&items_.front().first, items_.begin());
        return {&items_.front().second, true};
    }

    template <class... Args>
    std::pair<Value*, bool> try_emplace(const Key& key, Args&&... args) {
        return try_emplace_evicting([](const Key&, Value&) {}, key, std::forward<Args>(args)...);
    }

    /// Removes `key`; false when it was absent.
    bool erase(const Key& key) {
        const auto it = index_.find(&key);
        if (it == index_.end()) return false;
        const auto node = it->second;
        index_.erase(it);  // before the node: the index refers to the node's key
        items_.erase(node);
        return true;
    }

    /// Visits every entry, order unchanged: `visit(key, value)` may change the value, and
    /// the entry is removed when it returns true. Returns how many were removed.
    template <class Visit>
    std::size_t visit_erasing(Visit visit) {
        std::size_t removed = 0;
        for (auto node = items_.begin(); node != items_.end();) {
            if (!visit(node->first, node->second)) {
                ++node;
                continue;
            }
            index_.erase(&node->first);
            node = items_.erase(node);
            ++removed;
        }
        return removed;
    }

    /// Removes every entry.
    void clear() {
        index_.clear();
        items_.clear();
    }

    std::size_t size() const noexcept { return items_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }

  private:
    using item_list = std::list<std::pair<const Key, Value>>;
    struct key_hash {
        std::size_t operator()(const Key* k) const { return Hash{}(*k); }
    };
    struct key_equal {
        bool operator()(const Key* a, const Key* b) const { return *a == *b; }
    };

    std::size_t capacity_;
    item_list items_;  ///< most recently used first
    std::unordered_map<const Key*, typename item_list::iterator, key_hash, key_equal> index_;
};

}  // namespace bsocial
