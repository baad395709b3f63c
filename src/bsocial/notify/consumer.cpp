#include "bsocial/notify/consumer.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>

#include "bsocial/core/parse.hpp"
#include "bsocial/core/prometheus.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/events/envelope.hpp"
#include "bsocial/kafka/config.hpp"
#include "bsocial/notify/sql.hpp"
#include "bsocial/store/sql_error.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::notify {

namespace json = boost::json;

namespace {
std::optional<std::int64_t> id_field(const json::object& data, std::string_view key) {
    const auto* v = data.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return parse_positive_id(v->as_string());
}

std::optional<std::string> string_field(const json::object& data, std::string_view key) {
    const auto* v = data.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
}

/// Keeps the partition assignment in step with rebalances (eager protocol).
class rebalance_handler final : public RdKafka::RebalanceCb {
  public:
    explicit rebalance_handler(std::atomic<bool>& assigned) : assigned_(assigned) {}
    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override {
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            consumer->assign(partitions);
            assigned_ = true;
        } else {
            consumer->unassign();
            assigned_ = false;
        }
    }

  private:
    std::atomic<bool>& assigned_;
};
}  // namespace

std::optional<comment_event> stored_comment(soci::session& sql, const comment_event& e) {
    comment_event stored = e;
    soci::statement st(sql);
    st.exchange(soci::into(stored.post_author_id));
    st.exchange(soci::into(stored.commenter_username));
    st.exchange(soci::into(stored.content));
    st.exchange(soci::into(stored.created_at));
    st.exchange(soci::into(stored.post_content));
    st.exchange(soci::use(e.comment_id));
    st.exchange(soci::use(e.post_id));
    st.exchange(soci::use(e.commenter_id));
    store::prepare_statement(st, stored_comment_sql);
    if (!st.execute(true)) return std::nullopt;
    return stored;
}

std::optional<comment_event> parse_comment_event(const std::string& payload, bool& malformed) {
    const auto reading = events::parse_envelope(payload);
    // Another type is skipped, not poison, whatever else it carries.
    malformed = !reading.type;
    if (reading.type != "comment.created") return std::nullopt;
    if (!reading.value) {
        malformed = true;
        return std::nullopt;
    }
    const auto& data = reading.value->data;
    const auto comment_id = id_field(data, "comment_id");
    const auto post_id = id_field(data, "post_id");
    const auto author = id_field(data, "post_author_id");
    const auto commenter = id_field(data, "user_id");
    const auto username = string_field(data, "username");
    const auto content = string_field(data, "content");
    const auto created = string_field(data, "created_at");
    const auto created_ms = created ? parse_rfc3339_ms(*created) : std::nullopt;
    if (!comment_id || !post_id || !author || !commenter || !username || !content || !created_ms) {
        malformed = true;
        return std::nullopt;
    }
    return comment_event{*comment_id, *post_id, *author,    *commenter,
                         *username,   *content, *created_ms};
}

comment_consumer::comment_consumer(store::database& db, consumer_options options)
    : db_(db), conns_(db.make_pool(1, "notifier-consumer")), options_(std::move(options)) {}

comment_consumer::~comment_consumer() { stop(); }

void comment_consumer::start() {
    worker_.start([this] { run(); });
}

void comment_consumer::stop() { worker_.stop(); }

consumer_counters comment_consumer::counters() const {
    return {events_.load(),   notifications_.load(), poison_.load(), forged_.load(),
            restarts_.load(), parked_.load(),        assigned_.load()};
}

void comment_consumer::run() {
    auto delay = std::chrono::milliseconds(1000);
    while (!worker_.stopping()) {
        try {
            consume_until_stopped();
            return;
        } catch (const std::exception& e) {
            spdlog::error("module=notify event=consumer_failed error=\"{}\" retry_in_ms={}",
                          store::describe_error(e), delay.count());
        } catch (...) {
            spdlog::error("module=notify event=consumer_failed error=unknown retry_in_ms={}",
                          delay.count());
        }
        ++restarts_;
        worker_.sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(30000));
    }
}

void comment_consumer::store_messages(const std::vector<const RdKafka::Message*>& msgs,
                                      int& created, int& forged) {
    int added = 0, skipped = 0;
    store::lease sql_lease(*conns_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    for (const auto* msg : msgs) {
        const std::string payload(static_cast<const char*>(msg->payload()), msg->len());
        bool malformed = false;
        const auto e = parse_comment_event(payload, malformed);
        if (malformed) {
            ++poison_;
            spdlog::warn("module=notify event=poison_message topic={} partition={} offset={}",
                         msg->topic_name(), msg->partition(), msg->offset());
        }
        if (!e) continue;
        const auto stored = stored_comment(sql, *e);
        if (!stored || stored->post_author_id != e->post_author_id) {
            ++skipped;
            spdlog::warn(
                "module=notify event=forged_comment_event_skipped topic={} "
                "partition={} offset={} comment_id={} post_id={}",
                msg->topic_name(), msg->partition(), msg->offset(), e->comment_id, e->post_id);
            continue;
        }
        if (notification_store::add(sql, *stored)) ++added;
    }
    tx.commit();
    created += added;
    forged += skipped;
}

void comment_consumer::park(const RdKafka::Message& msg, const std::exception& why,
                            int attempts) {
    ++parked_;
    const std::string reason = store::describe_error(why);
    spdlog::error(
        "module=notify event=poison_message_parked topic={} partition={} offset={} attempts={} "
        "reason=\"{}\" action=skipped (row in parked_messages)",
        msg.topic_name(), msg.partition(), msg.offset(), attempts, reason);
    try {
        const std::string consumer = options_.group_id;
        const std::string topic = msg.topic_name();
        const int partition = msg.partition();
        const std::int64_t offset = msg.offset();
        const std::string payload(static_cast<const char*>(msg.payload()), msg.len());
        const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        store::lease sql_lease(*conns_);
        soci::session& sql = *sql_lease;
        store::write_transaction tx(sql, db_);
        sql << park_message_sql, soci::use(consumer), soci::use(topic), soci::use(partition),
            soci::use(offset), soci::use(reason), soci::use(payload), soci::use(now);
        tx.commit();
    } catch (const std::exception& e) {
        spdlog::error("module=notify event=park_failed topic={} partition={} offset={} error=\"{}\"",
                      msg.topic_name(), msg.partition(), msg.offset(), store::describe_error(e));
    }
}

void comment_consumer::consume_until_stopped() {
    rebalance_handler rebalance(assigned_);
    kafka::error_log broker_errors("bsocial-notifier", options_.security);
    auto conf = kafka::make_conf(options_.security, {
        {"bootstrap.servers", options_.brokers},
        {"group.id", options_.group_id},
        {"client.id", "bsocial-notifier"},
        {"enable.auto.commit", "false"},  // committed after the rows are stored
        {"auto.offset.reset", "earliest"},
        {"session.timeout.ms", "10000"},
    });
    kafka::set_callback(*conf, "rebalance_cb", static_cast<RdKafka::RebalanceCb*>(&rebalance));
    kafka::set_callback(*conf, "event_cb", static_cast<RdKafka::EventCb*>(&broker_errors));
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) throw std::runtime_error("kafka consumer: " + err);
    // Whatever ends this function, the consumer leaves its group before it is destroyed.
    struct closer {
        RdKafka::KafkaConsumer& c;
        ~closer() { c.close(); }
    } close_on_exit{*consumer};
    if (consumer->subscribe({options_.topic}) != RdKafka::ERR_NO_ERROR)
        throw std::runtime_error("kafka subscribe failed");
    spdlog::info("module=notify event=consumer_started group={} topic={}", options_.group_id,
                 options_.topic);

    // Offsets of stored rows not yet committed to Kafka, per partition (the next to read).
    std::map<int32_t, int64_t> uncommitted;
    auto last_commit = std::chrono::steady_clock::now();
    const auto commit = [&](bool wait) {
        if (uncommitted.empty()) return;
        std::vector<RdKafka::TopicPartition*> offsets;
        for (const auto& [partition, offset] : uncommitted)
            offsets.push_back(RdKafka::TopicPartition::create(options_.topic, partition, offset));
        const auto err = wait ? consumer->commitSync(offsets) : consumer->commitAsync(offsets);
        for (auto* tp : offsets) delete tp;
        if (err != RdKafka::ERR_NO_ERROR)
            spdlog::warn("module=notify event=commit_failed error=\"{}\"", RdKafka::err2str(err));
        uncommitted.clear();
        last_commit = std::chrono::steady_clock::now();
    };

    while (!worker_.stopping()) {
        if (std::chrono::steady_clock::now() - last_commit >= options_.commit_interval)
            commit(false);
        // A small batch: up to max_batch messages or 50 ms, whichever comes first.
        std::vector<std::unique_ptr<RdKafka::Message>> batch;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
        while (static_cast<int>(batch.size()) < options_.max_batch && !worker_.stopping()) {
            // Wait for the first message only; then take what is already fetched, without
            // waiting (each notification is stored as soon as it arrives; under load the
            // batches still fill up from what queued meanwhile).
            std::unique_ptr<RdKafka::Message> msg(consumer->consume(batch.empty() ? 100 : 0));
            const bool timed_out = msg->err() == RdKafka::ERR__TIMED_OUT;
            if (msg->err() == RdKafka::ERR_NO_ERROR) {
                batch.push_back(std::move(msg));
            } else if (msg->err() != RdKafka::ERR__TIMED_OUT &&
                       msg->err() != RdKafka::ERR__PARTITION_EOF) {
                spdlog::warn("module=notify event=consume_error error=\"{}\"", msg->errstr());
            }
            if (std::chrono::steady_clock::now() >= deadline && !batch.empty()) break;
            if (timed_out) break;
        }
        if (batch.empty()) continue;

        const auto seek_back = [&] {
            // Do not commit; seek each partition back to its first message of this batch
            // so the batch is read again (what was stored meanwhile is a no-op then).
            std::map<int32_t, int64_t> first_offsets;
            for (const auto& msg : batch)
                first_offsets.try_emplace(msg->partition(), msg->offset());
            for (const auto& [partition, offset] : first_offsets) {
                std::unique_ptr<RdKafka::TopicPartition> tp(
                    RdKafka::TopicPartition::create(options_.topic, partition, offset));
                consumer->seek(*tp, 1000);
            }
            worker_.sleep_for(std::chrono::seconds(1));
        };
        std::vector<const RdKafka::Message*> all;
        for (const auto& msg : batch) all.push_back(msg.get());
        int created = 0;
        int forged = 0;  // counted once stored, like `created`
        try {
            store_messages(all, created, forged);
        } catch (const std::exception& e) {
            if (db_.transient(e)) {
                spdlog::error("module=notify event=store_failed error=\"{}\" action=retry",
                              store::describe_error(e));
                seek_back();
                continue;
            }
            // Permanent for something in this batch: find the message, one at a time.
            spdlog::warn("module=notify event=store_failed error=\"{}\" action=one_by_one",
                         store::describe_error(e));
            bool interrupted = false;
            created = forged = 0;
            for (const auto* msg : all) {
                for (int attempt = 1;; ++attempt) {
                    try {
                        store_messages({msg}, created, forged);
                        break;
                    } catch (const std::exception& e2) {
                        if (db_.transient(e2)) {
                            interrupted = true;
                            break;
                        }
                        if (attempt >= options_.max_attempts) {
                            park(*msg, e2, attempt);
                            break;
                        }
                        worker_.sleep_for(options_.retry_pause);
                    }
                }
                if (interrupted || worker_.stopping()) break;
            }
            if (interrupted || worker_.stopping()) {
                if (created) notification_store::announce_committed();
                seek_back();
                continue;
            }
        }
        if (created) notification_store::announce_committed();  // wake the pushers
        // Offsets only after the rows are durable (or parked); sent with the next commit.
        for (const auto& msg : batch) uncommitted[msg->partition()] = msg->offset() + 1;
        events_ += static_cast<std::int64_t>(batch.size());
        notifications_ += created;
        forged_ += forged;
    }
    commit(true);
    spdlog::info("module=notify event=consumer_stopped");
}

std::string comment_consumer::metrics() const {
    const auto c = counters();
    return prometheus_metric("bsocial_notifier_events_total", "counter",
                             "Messages read from bsocial.comments.",
                             static_cast<double>(c.events)) +
           prometheus_metric("bsocial_notifier_notifications_total", "counter",
                             "Notifications created.", static_cast<double>(c.notifications)) +
           prometheus_metric("bsocial_notifier_poison_total", "counter",
                             "Messages that were not a valid comment event.",
                             static_cast<double>(c.poison)) +
           prometheus_metric("bsocial_notifier_forged_total", "counter",
                             "Comment events skipped: the database does not confirm them.",
                             static_cast<double>(c.forged)) +
           prometheus_metric("bsocial_notifier_parked_total", "counter",
                             "Messages given up on after retries of a permanent database error "
                             "(rows in parked_messages).",
                             static_cast<double>(c.parked)) +
           prometheus_metric("bsocial_notifier_consumer_restarts_total", "counter",
                             "Times the Kafka consumer recovered from a failure.",
                             static_cast<double>(c.restarts));
}

}  // namespace bsocial::notify
