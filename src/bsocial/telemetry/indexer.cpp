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
constexpr int sent_poll_ms = 2;    // how often it looks for finished requests while some run

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
            spdlog::info("module=telemetry event=partitions_revoked count={} batch={} sent={}",
                         partitions.size(), owner_.current_.entries.size(),
                         owner_.sent_.size());
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
    if (!config.instance_id.empty()) {
        // Static membership: a restart (even after SIGKILL) takes the old member's place at
        // once; without it the group waits session.timeout.ms for the old member.
        std::string err;
        if (conf->set("group.instance.id", config.instance_id, err) != RdKafka::Conf::CONF_OK)
            throw std::runtime_error("kafka group.instance.id: " + err);
    }
    kafka::set_callback(*conf, "rebalance_cb",
                        static_cast<RdKafka::RebalanceCb*>(rebalance_.get()));
    kafka::set_callback(*conf, "event_cb", static_cast<RdKafka::EventCb*>(&broker_errors_));
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error("kafka consumer: " + err);
    // One connection per bulk request in flight (a libcurl handle serves one thread).
    for (int i = 0; i < config.max_inflight; ++i) {
        senders_.push_back(std::make_unique<es_client>(config.es));
        free_senders_.push_back(senders_.back().get());
    }
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
    spdlog::info(
        "module=telemetry event=started group={} topics=\"{}\" index={} batch_events={} "
        "max_inflight={}",
        config_.group_id, config_.topic_pattern, indices_.events, config_.batch_max_events,
        config_.max_inflight);
    while (!worker_.stopping()) {
        auto now = clock_type::now();
        if (config_.retention_days > 0 && now >= next_retention_) retention_pass();
        if (!sent_.empty() && collect(false)) continue;  // a failure: backoff scheduled
        const bool failing = any_failed();
        if (failing && now >= next_attempt_) {
            retry_failed();
            continue;
        }
        if (!failing && batch_due(now) && !free_senders_.empty()) {
            drain_fetched();
            adjust_refresh(current_.produced_ms);
            send_current();
            continue;
        }
        // Wait in consume() (which also serves rebalances) at most until the batch is due or
        // a request in flight may have finished.
        auto wait = std::chrono::milliseconds(idle_poll_ms);
        if (failing) {
            wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  next_attempt_ - now),
                              std::chrono::milliseconds(1), wait);
        } else if (!current_.entries.empty() && !free_senders_.empty()) {
            const auto due = current_.started + std::chrono::milliseconds(config_.batch_max_wait_ms);
            wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(due - now),
                              std::chrono::milliseconds(1), wait);
        }
        if (!sent_.empty()) wait = std::min(wait, std::chrono::milliseconds(sent_poll_ms));
        if (current_.entries.size() >= static_cast<std::size_t>(config_.batch_max_events) ||
            current_.bytes >= static_cast<std::size_t>(config_.batch_max_bytes)) {
            // Full and every sender busy (or failing): read no further ahead (consume() would
            // add to it); wait for a request to finish. Rebalances are served at the next
            // consume(), as when one request at a time was in flight.
            const auto running = std::find_if(sent_.begin(), sent_.end(), [](const auto& b) {
                return b.state == sent_batch::in_flight;
            });
            if (running != sent_.end())
                running->result.wait_for(wait);
            else
                std::this_thread::sleep_for(wait);
            continue;
        }
        std::unique_ptr<RdKafka::Message> message(
            consumer_->consume(static_cast<int>(wait.count())));
        // Nothing more fetched and everything sent was answered: caught up.
        if (!take(*message) && catching_up_ && sent_.empty() && current_.entries.empty() &&
            message->err() == RdKafka::ERR__TIMED_OUT)
            set_refresh(config_.refresh_ms, "refresh_restored");
    }
    if (catching_up_) set_refresh(config_.refresh_ms, "refresh_restored");

    // stop(): index what was read, commit, leave the group.
    const bool clean = flush_until(clock_type::now() +
                                   std::chrono::milliseconds(config_.shutdown_flush_timeout_ms));
    if (!clean)
        spdlog::error(
            "module=telemetry event=final_flush_failed batches={} "
            "note=\"uncommitted: delivered again at the next start\"",
            sent_.size());
    sent_.clear();
    current_ = {};
    consumer_->close();
    consumer_.reset();
    spdlog::info(
        "module=telemetry event=stopped indexed={} duplicates={} dead_letters={} "
        "batches={} login_days_skipped={} login_days_merged={}",
        stats_.indexed, stats_.duplicates, stats_.dead_letters, stats_.batches,
        stats_.login_days_skipped, stats_.login_days_merged);
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
    if (current_.entries.empty()) {
        current_.started = clock_type::now() - waited_since_produced(message);
        const auto ts = message.timestamp();
        current_.produced_ms =
            ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? 0 : ts.timestamp;
    }
    // One entry per _bulk item (the event, and a post's or comment's entity document, a
    // login's login-day updates); the message's offset is committed once all of them are
    // acknowledged.
    for (auto& action : actions) add_item(msg, std::move(action));
}

void indexer::add_item(const source_message& msg, index_action action) {
    if (action.op == "update" && !action.login_day.empty()) {
        // The event's own document is an entry of this batch, so the message's offset is
        // committed only with the batch, and the batch only once the update that carries
        // (or carried) these flags is acknowledged: skipping or folding loses nothing.
        if (login_days_.known(action.id).covers(action.login_day)) {
            ++stats_.login_days_skipped;
            return;
        }
        const auto [it, fresh] =
            current_.login_days.try_emplace(action.id, current_.entries.size());
        if (!fresh) {
            auto& held = current_.entries[it->second].action;
            if (!held.login_day.covers(action.login_day)) {
                held.login_day.merge(action.login_day);
                const auto before = held.source.size();
                held.source = login_day_source(held.id, held.login_day);
                current_.bytes += held.source.size() - std::min(before, held.source.size());
            }
            ++stats_.login_days_merged;
            return;
        }
    }
    current_.bytes += action.source.size() + action.id.size() + 64;
    current_.entries.push_back(entry{msg, std::move(action), false});
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
    while (current_.entries.size() < static_cast<std::size_t>(config_.batch_max_events) &&
           current_.bytes < static_cast<std::size_t>(config_.batch_max_bytes)) {
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
    if (current_.entries.empty()) return false;
    return current_.entries.size() >= static_cast<std::size_t>(config_.batch_max_events) ||
           current_.bytes >= static_cast<std::size_t>(config_.batch_max_bytes) ||
           now - current_.started >= std::chrono::milliseconds(config_.batch_max_wait_ms);
}

indexer::flush_result indexer::flush_once(batch& b, es_client& es) const {
    flush_result out;
    // At most two rounds: a document Elasticsearch refuses is replaced by its dead letter
    // and sent again right away; a refused dead letter is logged and dropped.
    for (int round = 0; round < 2; ++round) {
        std::vector<entry*> pending;
        for (auto& e : b.entries)
            if (!e.done) pending.push_back(&e);
        if (pending.empty()) break;
        std::vector<const index_action*> actions;
        actions.reserve(pending.size());
        for (auto* e : pending) actions.push_back(&e->action);
        const auto started = clock_type::now();
        std::vector<item_result> results;
        try {
            const auto response =
                es.request("POST", "/_bulk", bulk_body(actions), "application/x-ndjson");
            if (response.status != 200) {
                spdlog::warn("module=telemetry event=bulk_failed status={} body=\"{}\"",
                             response.status, response.body.substr(0, 300));
                return out;
            }
            results = parse_bulk_response(response.body, actions.size());
        } catch (const es_unreachable& e) {
            spdlog::warn("module=telemetry event=elasticsearch_unreachable error=\"{}\"", e.what());
            return out;
        } catch (const es_config_error& e) {
            // credentials or CA changed under a running indexer: retried, nothing committed
            spdlog::error("module=telemetry event=elasticsearch_refused error=\"{}\"", e.what());
            return out;
        } catch (const std::runtime_error& e) {
            spdlog::warn("module=telemetry event=bulk_response_unreadable error=\"{}\"", e.what());
            return out;
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
                        ++out.counts.dead_letters;
                    else
                        ++out.counts.indexed;
                    break;
                case item_outcome::duplicate:
                    e.done = true;
                    ++duplicates;
                    ++out.counts.duplicates;
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
        if (retry > 0) return out;
    }
    out.ok = std::all_of(b.entries.begin(), b.entries.end(),
                         [](const entry& e) { return e.done; });
    return out;
}

void indexer::send_current() {
    sent_batch s;
    s.items = std::make_unique<batch>(std::move(current_));
    current_ = {};
    s.sender = free_senders_.back();
    free_senders_.pop_back();
    sent_.push_back(std::move(s));
    launch(sent_.back());
    spdlog::debug("module=telemetry event=bulk_sent items={} in_flight={}",
                  sent_.back().items->entries.size(),
                  std::count_if(sent_.begin(), sent_.end(), [](const sent_batch& b) {
                      return b.state == sent_batch::in_flight;
                  }));
}

void indexer::launch(sent_batch& s) {
    s.state = sent_batch::in_flight;
    // The batch and the connection stay put (unique_ptr, senders_) while the request runs,
    // and sent_ is not popped before its result was taken.
    s.result = std::async(std::launch::async, [this, b = s.items.get(), es = s.sender] {
        return flush_once(*b, *es);
    });
}

bool indexer::collect(bool wait) {
    bool failed = false;
    for (auto& s : sent_) {
        if (s.state != sent_batch::in_flight) continue;
        if (!wait && s.result.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            continue;
        const auto r = s.result.get();  // rethrows what ended the request (not an outage)
        if (r.ok) {
            s.state = sent_batch::acknowledged;
            // Every item is in Elasticsearch (translog fsynced): later logins need not set
            // these flags again.
            for (const auto& e : s.items->entries)
                if (e.done && e.action.op == "update")
                    login_days_.remember(e.action.id, e.action.login_day);
        } else {
            s.state = sent_batch::failed;
            failed = true;
        }
        stats_.indexed += r.counts.indexed;
        stats_.duplicates += r.counts.duplicates;
        stats_.dead_letters += r.counts.dead_letters;
    }
    commit_acknowledged();
    if (failed) {
        note_failure();
    } else if (paused_ && !any_failed()) {
        resume_all();
        backoff_ = std::chrono::milliseconds(0);
        next_attempt_ = {};
    }
    return failed;
}

void indexer::note_failure() {
    ++stats_.failed_attempts;
    if (!paused_) pause_all();
    backoff_ = std::min(std::max(backoff_ * 2, initial_backoff),
                        std::chrono::milliseconds(config_.max_backoff_ms));
    next_attempt_ = clock_type::now() + backoff_;
    std::size_t items = 0;
    for (const auto& s : sent_)
        if (s.state == sent_batch::failed) items += s.items->entries.size();
    spdlog::warn("module=telemetry event=bulk_retry_scheduled batch={} backoff_ms={}", items,
                 backoff_.count());
}

bool indexer::any_failed() const {
    return std::any_of(sent_.begin(), sent_.end(),
                       [](const sent_batch& s) { return s.state == sent_batch::failed; });
}

void indexer::retry_failed() {
    for (auto& s : sent_)
        if (s.state == sent_batch::failed) launch(s);
}

void indexer::commit_acknowledged() {
    // Next offset to read = last indexed + 1, per partition, over the acknowledged batches at
    // the head (a batch behind one still in flight waits for it: offsets are committed in
    // the order they were read).
    std::map<std::pair<std::string, int>, std::int64_t> next;
    std::size_t events = 0, batches = 0;
    while (!sent_.empty() && sent_.front().state == sent_batch::acknowledged) {
        for (const auto& e : sent_.front().items->entries) {
            auto& n = next[{e.msg.topic, e.msg.partition}];
            n = std::max(n, e.msg.offset + 1);
        }
        events += sent_.front().items->entries.size();
        ++batches;
        free_senders_.push_back(sent_.front().sender);
        sent_.pop_front();
    }
    if (next.empty()) return;
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [tp, offset] : next)
        offsets.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, offset));
    const auto err = consumer_->commitSync(offsets);
    free_partitions(offsets);
    stats_.batches += static_cast<std::int64_t>(batches);
    if (err != RdKafka::ERR_NO_ERROR) {
        // Indexed but not committed (e.g. a rebalance in progress): those events come again
        // and are answered 409, so nothing is lost or doubled.
        spdlog::warn("module=telemetry event=commit_failed error=\"{}\"", RdKafka::err2str(err));
        return;
    }
    spdlog::debug("module=telemetry event=committed events={} batches={} partitions={}", events,
                  batches, next.size());
}

bool indexer::flush_until(clock_type::time_point deadline) {
    auto backoff = initial_backoff;
    while (true) {
        collect(true);  // every request in flight answered: sent_ holds only failed batches
        if (!current_.entries.empty() && !free_senders_.empty()) {
            send_current();
            continue;
        }
        if (sent_.empty() && current_.entries.empty()) return true;
        if (clock_type::now() + backoff > deadline) return false;
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(config_.max_backoff_ms));
        retry_failed();
    }
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

void indexer::adjust_refresh(std::int64_t oldest_produced_ms) {
    constexpr std::int64_t behind_ms = 10000;  // a backlog: late anyway, refresh less often
    // Only ever a longer interval: with refresh_ms at or above it (a deployment that
    // refreshes rarely anyway), catching up changes nothing.
    if (config_.catchup_refresh_ms <= config_.refresh_ms || oldest_produced_ms <= 0 ||
        catching_up_)
        return;
    if (clock_.now_ms() - oldest_produced_ms >= behind_ms)
        set_refresh(config_.catchup_refresh_ms, "refresh_catchup");
}

void indexer::set_refresh(int refresh_ms, const char* event) {
    // Both indices that take events' documents (every monthly index through the alias);
    // install_templates sets refresh_ms again at every start, so a crash in catch-up mode
    // does not leave the long interval behind.
    catching_up_ = refresh_ms != config_.refresh_ms;
    const std::string body =
        R"({"index":{"refresh_interval":")" + std::to_string(refresh_ms) + R"(ms"}})";
    try {
        const auto r = es_.request("PUT", "/" + indices_.events + "," + indices_.entities +
                                              "/_settings", body);
        if (r.status != 200)
            spdlog::warn("module=telemetry event={} status={} body=\"{}\"", event, r.status,
                         r.body.substr(0, 300));
        else
            spdlog::info("module=telemetry event={} refresh_ms={}", event, refresh_ms);
    } catch (const std::exception& e) {  // indexing goes on; the next start resets it
        spdlog::warn("module=telemetry event={} error=\"{}\"", event, e.what());
    }
}

void indexer::retention_pass() {
    next_retention_ = clock_type::now() + std::chrono::hours(1);
    try {
        // A deleted month of login days takes its flags with it: a late login of that month
        // must write them again.
        if (!apply_retention(es_, config_.es, config_.retention_days, clock_.now_ms()).empty())
            login_days_.forget_all();
    } catch (const std::exception& e) {  // next hour again; indexing goes on
        spdlog::warn("module=telemetry event=retention_failed error=\"{}\"", e.what());
    }
}

void indexer::on_revoke() {
    // Wait for the requests in flight, then one more attempt for the failed batches and the
    // current one, so a rebalance is not held up by an Elasticsearch outage; what is
    // acknowledged is committed, the rest is read again by the next owner (from the
    // committed offset).
    if (!sent_.empty() || !current_.entries.empty()) {
        collect(true);
        retry_failed();
        if (!current_.entries.empty() && !free_senders_.empty()) send_current();
        collect(true);
    }
    sent_.clear();
    current_ = {};
    free_senders_.clear();
    for (auto& s : senders_) free_senders_.push_back(s.get());
    next_attempt_ = {};
    backoff_ = std::chrono::milliseconds(0);
}

}  // namespace bsocial::telemetry
