#include "bsocial/telemetry/indexer.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "bsocial/kafka/config.hpp"
#include "bsocial/telemetry/bulk.hpp"
#include "bsocial/telemetry/index_templates.hpp"

namespace bsocial::telemetry {

namespace {
constexpr std::chrono::milliseconds initial_backoff{100};
constexpr int idle_poll_ms = 100;  // how often the loop looks at the stop flag at most

void free_partitions(std::vector<RdKafka::TopicPartition*>& parts) {
    RdKafka::TopicPartition::destroy(parts);
    parts.clear();
}
}  // namespace

/// librdkafka calls this from inside consume() on the indexer thread, so it may touch the
/// indexer's state without locks.
class indexer::rebalance_handler final : public RdKafka::RebalanceCb {
  public:
    explicit rebalance_handler(indexer& owner) : owner_(owner) {}

    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override {
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            spdlog::info("module=telemetry event=partitions_assigned count={}", partitions.size());
            // Fresh assignment: starts unpaused, from the committed offsets.
            owner_.paused_ = false;
            consumer->assign(partitions);
        } else {
            spdlog::info("module=telemetry event=partitions_revoked count={} batch={}",
                         partitions.size(), owner_.batch_.size());
            owner_.on_revoke();
            consumer->unassign();
        }
    }

  private:
    indexer& owner_;
};

indexer::indexer(const telemetry_config& config, es_client& es, const clock& clock,
                 std::function<void()> on_exit)
    : config_(config),
      es_(es),
      clock_(clock),
      indices_{config.es.index, config.es.dead_letter_index(), config.es.entities_index(),
               config.es.logins_index()},
      rebalance_(std::make_unique<rebalance_handler>(*this)),
      broker_errors_("bsocial-telemetry", config.kafka_security),
      worker_("telemetry-indexer", {.on_exit = std::move(on_exit)}) {
    auto conf = kafka::make_conf(config.kafka_security, {
        {"bootstrap.servers", config.kafka.brokers},
        {"group.id", config.group_id},
        {"client.id", "bsocial-telemetry"},
        // Offsets are committed by hand, after Elasticsearch acknowledged the batch.
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},  // a new group starts from the first event
        {"session.timeout.ms", "10000"},    // >= 6000 (broker's group.min.session.timeout.ms)
        {"enable.partition.eof", "false"},
        // Event -> searchable lag: the broker answers a fetch as soon as one byte is there,
        // and an idle fetch is re-sent after 100 ms rather than 500 (the default).
        {"fetch.min.bytes", "1"},
        {"fetch.wait.max.ms", "100"},
        // Kafka topics appear at start-up of the stack; look for new bsocial.* topics often.
        {"topic.metadata.refresh.interval.ms", "30000"},
    });
    kafka::set_callback(*conf, "rebalance_cb",
                        static_cast<RdKafka::RebalanceCb*>(rebalance_.get()));
    kafka::set_callback(*conf, "event_cb", static_cast<RdKafka::EventCb*>(&broker_errors_));
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error("kafka consumer: " + err);
}

indexer::~indexer() {
    try {
        worker_.stop();
    } catch (...) {  // logged by the worker thread
    }
    if (consumer_) consumer_->close();
}

void indexer::start() {
    worker_.start([this] { run(); });
}

void indexer::stop() { worker_.stop(); }

void indexer::subscribe() {
    const auto err = consumer_->subscribe({config_.topic_pattern});
    if (err != RdKafka::ERR_NO_ERROR)
        throw std::runtime_error("kafka subscribe: " + RdKafka::err2str(err));
}

void indexer::run() {
    spdlog::info("module=telemetry event=started group={} topics=\"{}\" index={}", config_.group_id,
                 config_.topic_pattern, indices_.events);
    while (!worker_.stopping()) {
        auto now = clock_type::now();
        if (config_.retention_days > 0 && now >= next_retention_) retention_pass();
        if (batch_due(now) && now >= next_attempt_) {
            drain_fetched();
            if (flush_once()) {
                commit();
                clear_batch();
                if (paused_) resume_all();
                backoff_ = std::chrono::milliseconds(0);
            } else {
                ++stats_.failed_attempts;
                if (!paused_) pause_all();
                backoff_ = std::min(std::max(backoff_ * 2, initial_backoff),
                                    std::chrono::milliseconds(config_.max_backoff_ms));
                next_attempt_ = clock_type::now() + backoff_;
                spdlog::warn("module=telemetry event=bulk_retry_scheduled batch={} backoff_ms={}",
                             batch_.size(), backoff_.count());
            }
            continue;
        }
        // Wait in consume() (which also serves rebalances) at most until the batch is due.
        auto wait = std::chrono::milliseconds(idle_poll_ms);
        if (!batch_.empty()) {
            const auto due =
                std::max(batch_started_ + std::chrono::milliseconds(config_.batch_max_wait_ms),
                         next_attempt_);
            wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(due - now),
                              std::chrono::milliseconds(1), wait);
        }
        std::unique_ptr<RdKafka::Message> message(
            consumer_->consume(static_cast<int>(wait.count())));
        take(*message);
    }

    // stop(): index what was read, commit, leave the group.
    bool clean = true;
    if (!batch_.empty()) {
        clean = flush_until(clock_type::now() +
                            std::chrono::milliseconds(config_.shutdown_flush_timeout_ms));
        if (!clean)
            spdlog::error(
                "module=telemetry event=final_flush_failed batch={} "
                "note=\"uncommitted: delivered again at the next start\"",
                batch_.size());
    }
    consumer_->close();
    consumer_.reset();
    spdlog::info(
        "module=telemetry event=stopped indexed={} duplicates={} dead_letters={} "
        "batches={}",
        stats_.indexed, stats_.duplicates, stats_.dead_letters, stats_.batches);
    clean_ = clean;
}

void indexer::add(const RdKafka::Message& message) {
    source_message msg;
    msg.topic = message.topic_name();
    msg.partition = message.partition();
    msg.offset = message.offset();
    if (const auto* key = message.key()) msg.key = *key;
    msg.has_payload = message.payload() != nullptr;
    if (msg.has_payload)
        msg.payload.assign(static_cast<const char*>(message.payload()), message.len());
    auto actions = to_index_actions(msg, indices_, clock_.now_ms());
    if (actions.front().dead_letter)
        spdlog::warn(
            "module=telemetry event=poison_message topic={} partition={} offset={} "
            "reason=\"{}\" action=dead_letter",
            msg.topic, msg.partition, msg.offset, actions.front().reason);
    if (batch_.empty()) batch_started_ = clock_type::now() - waited_since_produced(message);
    // One entry per _bulk item (the event, and a post's or comment's entity document); the
    // message's offset is committed once all of them are acknowledged.
    for (auto& action : actions) {
        batch_bytes_ += action.source.size() + action.id.size() + 64;
        batch_.push_back(entry{msg, std::move(action), false});
    }
}

std::chrono::milliseconds indexer::waited_since_produced(const RdKafka::Message& message) const {
    // The batch wait bounds an event's delay, so it counts from when the event was produced
    // (its Kafka timestamp), not from when this loop got to it: an event that already waited
    // during the previous bulk request goes out with the next one. Clamped, so a producer
    // clock ahead of ours or far behind changes only how full the next batch is.
    const auto ts = message.timestamp();
    if (ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) return {};
    const auto waited = std::chrono::milliseconds(clock_.now_ms() - ts.timestamp);
    return std::clamp(waited, std::chrono::milliseconds(0),
                      std::chrono::milliseconds(config_.batch_max_wait_ms));
}

void indexer::drain_fetched() {
    // Take what librdkafka has already fetched before sending the bulk request, so events
    // that arrived during the previous request do not wait for another one.
    while (batch_.size() < static_cast<std::size_t>(config_.batch_max_events) &&
           batch_bytes_ < static_cast<std::size_t>(config_.batch_max_bytes)) {
        std::unique_ptr<RdKafka::Message> message(consumer_->consume(0));
        if (!take(*message)) return;
    }
}

bool indexer::take(const RdKafka::Message& message) {
    switch (message.err()) {
        case RdKafka::ERR_NO_ERROR:
            add(message);
            return true;
        case RdKafka::ERR__TIMED_OUT:
        case RdKafka::ERR__PARTITION_EOF:
            return false;
        default:
            // Broker/transport trouble: librdkafka retries by itself; say so once per
            // occurrence and keep polling.
            spdlog::warn("module=telemetry event=kafka_error error=\"{}\"", message.errstr());
            return false;
    }
}

bool indexer::batch_due(clock_type::time_point now) const {
    if (batch_.empty()) return false;
    return batch_.size() >= static_cast<std::size_t>(config_.batch_max_events) ||
           batch_bytes_ >= static_cast<std::size_t>(config_.batch_max_bytes) ||
           now - batch_started_ >= std::chrono::milliseconds(config_.batch_max_wait_ms);
}

bool indexer::flush_once() {
    // At most two rounds: a document Elasticsearch refuses is replaced by its dead letter
    // and sent again right away; a refused dead letter is logged and dropped.
    for (int round = 0; round < 2; ++round) {
        std::vector<entry*> pending;
        for (auto& e : batch_)
            if (!e.done) pending.push_back(&e);
        if (pending.empty()) return true;
        std::vector<const index_action*> actions;
        actions.reserve(pending.size());
        for (auto* e : pending) actions.push_back(&e->action);
        const auto started = clock_type::now();
        std::vector<item_result> results;
        try {
            const auto response =
                es_.request("POST", "/_bulk", bulk_body(actions), "application/x-ndjson");
            if (response.status != 200) {
                spdlog::warn("module=telemetry event=bulk_failed status={} body=\"{}\"",
                             response.status, response.body.substr(0, 300));
                return false;
            }
            results = parse_bulk_response(response.body, actions.size());
        } catch (const es_unreachable& e) {
            spdlog::warn("module=telemetry event=elasticsearch_unreachable error=\"{}\"", e.what());
            return false;
        } catch (const es_config_error& e) {
            // credentials or CA changed under a running indexer: retried, nothing committed
            spdlog::error("module=telemetry event=elasticsearch_refused error=\"{}\"", e.what());
            return false;
        } catch (const std::runtime_error& e) {
            spdlog::warn("module=telemetry event=bulk_response_unreadable error=\"{}\"", e.what());
            return false;
        }
        int indexed = 0, duplicates = 0, retry = 0, rejected = 0;
        for (std::size_t i = 0; i < results.size(); ++i) {
            auto& e = *pending[i];
            const auto& r = results[i];
            switch (r.outcome) {
                case item_outcome::indexed:
                    e.done = true;
                    ++indexed;
                    if (e.action.dead_letter)
                        ++stats_.dead_letters;
                    else
                        ++stats_.indexed;
                    break;
                case item_outcome::duplicate:
                    e.done = true;
                    ++duplicates;
                    ++stats_.duplicates;
                    break;
                case item_outcome::retry:
                    ++retry;
                    break;
                case item_outcome::rejected:
                    ++rejected;
                    if (e.action.dead_letter) {
                        spdlog::error(
                            "module=telemetry event=dead_letter_refused topic={} "
                            "partition={} offset={} status={} error=\"{}\" "
                            "action=dropped",
                            e.msg.topic, e.msg.partition, e.msg.offset, r.status, r.error);
                        e.done = true;
                    } else {
                        spdlog::warn(
                            "module=telemetry event=document_refused topic={} "
                            "partition={} offset={} status={} error=\"{}\" "
                            "action=dead_letter",
                            e.msg.topic, e.msg.partition, e.msg.offset, r.status, r.error);
                        e.action =
                            dead_letter_action(e.msg,
                                               "refused by Elasticsearch (" +
                                                   std::to_string(r.status) + "): " + r.error,
                                               indices_, clock_.now_ms());
                    }
                    break;
            }
        }
        spdlog::debug(
            "module=telemetry event=bulk items={} indexed={} duplicates={} retry={} "
            "rejected={} took_ms={}",
            results.size(), indexed, duplicates, retry, rejected,
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started)
                .count());
        if (retry > 0) return false;
    }
    return std::all_of(batch_.begin(), batch_.end(), [](const entry& e) { return e.done; });
}

bool indexer::flush_until(clock_type::time_point deadline) {
    auto backoff = initial_backoff;
    while (true) {
        if (flush_once()) {
            commit();
            clear_batch();
            return true;
        }
        if (clock_type::now() + backoff > deadline) return false;
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(config_.max_backoff_ms));
    }
}

void indexer::commit() {
    // Next offset to read = last indexed + 1, per partition of the batch.
    std::map<std::pair<std::string, int>, std::int64_t> next;
    for (const auto& e : batch_) {
        auto& n = next[{e.msg.topic, e.msg.partition}];
        n = std::max(n, e.msg.offset + 1);
    }
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [tp, offset] : next)
        offsets.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, offset));
    const auto err = consumer_->commitSync(offsets);
    free_partitions(offsets);
    ++stats_.batches;
    if (err != RdKafka::ERR_NO_ERROR) {
        // Indexed but not committed (e.g. a rebalance in progress): those events come again
        // and are answered 409, so nothing is lost or doubled.
        spdlog::warn("module=telemetry event=commit_failed error=\"{}\"", RdKafka::err2str(err));
        return;
    }
    spdlog::debug("module=telemetry event=committed events={} partitions={}", batch_.size(),
                  next.size());
}

void indexer::clear_batch() {
    batch_.clear();
    batch_bytes_ = 0;
}

void indexer::pause_all() {
    std::vector<RdKafka::TopicPartition*> parts;
    if (consumer_->assignment(parts) == RdKafka::ERR_NO_ERROR && !parts.empty())
        consumer_->pause(parts);
    free_partitions(parts);
    paused_ = true;
}

void indexer::resume_all() {
    std::vector<RdKafka::TopicPartition*> parts;
    if (consumer_->assignment(parts) == RdKafka::ERR_NO_ERROR && !parts.empty())
        consumer_->resume(parts);
    free_partitions(parts);
    paused_ = false;
}

void indexer::retention_pass() {
    next_retention_ = clock_type::now() + std::chrono::hours(1);
    try {
        apply_retention(es_, config_.es, config_.retention_days, clock_.now_ms());
    } catch (const std::exception& e) {  // next hour again; indexing goes on
        spdlog::warn("module=telemetry event=retention_failed error=\"{}\"", e.what());
    }
}

void indexer::on_revoke() {
    if (batch_.empty()) return;
    // One attempt, so a rebalance is not held up by an Elasticsearch outage; whatever is
    // not committed is read again by the next owner (from the committed offset).
    if (flush_once()) commit();
    clear_batch();
    next_attempt_ = {};
    backoff_ = std::chrono::milliseconds(0);
}

}  // namespace bsocial::telemetry
