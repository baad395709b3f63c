// Proves that librdkafka (Debian bookworm: 2.0.2) and the Kafka run by
// stack/bstack.py agree on what bSocial relies on:
//   * admin API topic creation (C API via c_ptr()),
//   * idempotent producer, acks=all, gzip compression, delivery reports,
//   * group consumer with manual synchronous commits, and a second consumer of
//     the same group that starts from the committed offsets.
//
// Broker from env BSOCIAL_TEST_KAFKA (e.g. "127.0.0.1:9092"); skipped when unset.
// Build: g++ -std=c++20 tests/stack/kafka_smoke_test.cpp -lgtest -lgtest_main
//            -lrdkafka++ -lrdkafka -pthread -o /tmp/smoke
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMessages = 100;
constexpr int kPartitions = 3;
// Liveness limits only (a broken setup fails instead of hanging); nothing asserts speed.
constexpr auto kLimit = std::chrono::seconds(60);

std::string Broker() {
    const char* b = std::getenv("BSOCIAL_TEST_KAFKA");
    return b ? std::string(b) : std::string();
}

std::string RandomSuffix() {
    std::random_device rd;
    std::mt19937_64 gen(rd());
    return std::to_string(gen() % 1000000000ULL);
}

std::unique_ptr<RdKafka::Conf> MakeConf(
    const std::vector<std::pair<std::string, std::string>>& kv) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] : kv) {
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
            ADD_FAILURE() << "conf " << k << "=" << v << ": " << err;
        }
    }
    return conf;
}

class CountingDr : public RdKafka::DeliveryReportCb {
  public:
    void dr_cb(RdKafka::Message& m) override {
        if (m.err() == RdKafka::ERR_NO_ERROR) {
            ++ok;
        } else {
            ++failed;
            last_error = m.errstr();
        }
    }
    int ok = 0;
    int failed = 0;
    std::string last_error;
};

int BrokerCount(RdKafka::Handle* h) {
    RdKafka::Metadata* md = nullptr;
    if (h->metadata(true, nullptr, &md, 10000) != RdKafka::ERR_NO_ERROR || md == nullptr) return 0;
    int n = static_cast<int>(md->brokers()->size());
    delete md;
    return n;
}

// Creates `topic` with the C admin API on the handle behind `h`.
void CreateTopic(RdKafka::Handle* h, const std::string& topic, int partitions, int replication) {
    rd_kafka_t* rk = h->c_ptr();
    char errstr[512] = {0};
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, replication, errstr, sizeof errstr);
    ASSERT_NE(nt, nullptr) << errstr;
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, errstr, sizeof errstr);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 60000);
    ASSERT_NE(ev, nullptr) << "no CreateTopics result";
    ASSERT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_event_error_string(ev);
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    ASSERT_NE(res, nullptr);
    size_t n = 0;
    const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
    ASSERT_EQ(n, 1u);
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[0]);
    EXPECT_TRUE(err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        << rd_kafka_err2str(err) << ": " << (rd_kafka_topic_result_error_string(tr[0]) ?: "");
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
}

std::unique_ptr<RdKafka::KafkaConsumer> MakeConsumer(const std::string& group) {
    auto conf = MakeConf({{"bootstrap.servers", Broker()},
                          {"group.id", group},
                          {"enable.auto.commit", "false"},
                          {"auto.offset.reset", "earliest"},
                          {"session.timeout.ms", "6000"},
                          {"enable.partition.eof", "false"}});
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    EXPECT_TRUE(c) << err;
    return c;
}

TEST(KafkaSmoke, IdempotentGzipProduceThenGroupConsumeWithCommits) {
    if (Broker().empty()) GTEST_SKIP() << "BSOCIAL_TEST_KAFKA not set";
    const std::string topic = "bsocial.smoke." + RandomSuffix();
    const std::string group = "bsocial-smoke-" + RandomSuffix();
    std::printf("librdkafka %s, broker %s, topic %s\n", RdKafka::version_str().c_str(),
                Broker().c_str(), topic.c_str());

    // ---- producer: idempotent, acks=all, gzip
    CountingDr dr;
    auto pconf = MakeConf({{"bootstrap.servers", Broker()},
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"compression.codec", "gzip"},
                           {"linger.ms", "5"},
                           {"message.timeout.ms", "30000"}});
    std::string err;
    ASSERT_EQ(pconf->set("dr_cb", &dr, err), RdKafka::Conf::CONF_OK) << err;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
    ASSERT_TRUE(producer) << err;

    const int brokers = BrokerCount(producer.get());
    ASSERT_GT(brokers, 0) << "no metadata from " << Broker();
    CreateTopic(producer.get(), topic, kPartitions, std::min(brokers, 3));
    if (HasFatalFailure()) return;

    std::set<std::string> sent;
    for (int i = 0; i < kMessages; ++i) {
        std::string key = "k" + std::to_string(i);
        std::string value =
            "bsocial smoke message " + std::to_string(i) + " " + std::string(200, 'x');
        sent.insert(value);
        RdKafka::ErrorCode e;
        while ((e = producer->produce(topic, RdKafka::Topic::PARTITION_UA,
                                      RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(),
                                      key.data(), key.size(), 0, nullptr)) ==
               RdKafka::ERR__QUEUE_FULL) {
            producer->poll(100);
        }
        ASSERT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
        producer->poll(0);
    }
    ASSERT_EQ(producer->flush(60000), RdKafka::ERR_NO_ERROR);
    EXPECT_EQ(producer->outq_len(), 0);
    EXPECT_EQ(dr.ok, kMessages);
    EXPECT_EQ(dr.failed, 0) << dr.last_error;
    std::string fatal;
    EXPECT_EQ(producer->fatal_error(fatal), RdKafka::ERR_NO_ERROR) << fatal;

    // ---- consumer 1: read all, commit synchronously
    {
        auto c = MakeConsumer(group);
        ASSERT_TRUE(c);
        ASSERT_EQ(c->subscribe({topic}), RdKafka::ERR_NO_ERROR);
        std::set<std::string> got;
        int total = 0;
        const auto deadline = Clock::now() + kLimit;
        while (total < kMessages && Clock::now() < deadline) {
            std::unique_ptr<RdKafka::Message> m(c->consume(500));
            if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
            ASSERT_EQ(m->err(), RdKafka::ERR_NO_ERROR) << m->errstr();
            got.insert(std::string(static_cast<const char*>(m->payload()), m->len()));
            ++total;
        }
        EXPECT_EQ(total, kMessages);
        EXPECT_EQ(got, sent);
        ASSERT_EQ(c->commitSync(), RdKafka::ERR_NO_ERROR);

        std::vector<RdKafka::TopicPartition*> parts;
        for (int p = 0; p < kPartitions; ++p)
            parts.push_back(RdKafka::TopicPartition::create(topic, p));
        ASSERT_EQ(c->committed(parts, 10000), RdKafka::ERR_NO_ERROR);
        int64_t committed = 0;
        for (auto* tp : parts) committed += std::max<int64_t>(tp->offset(), 0);
        RdKafka::TopicPartition::destroy(parts);
        EXPECT_EQ(committed, kMessages) << "committed offsets over all partitions";
        c->close();
    }

    // ---- consumer 2, same group: gets its assignment, then nothing new
    {
        auto c = MakeConsumer(group);
        ASSERT_TRUE(c);
        ASSERT_EQ(c->subscribe({topic}), RdKafka::ERR_NO_ERROR);
        int extra = 0;
        size_t assigned = 0;
        const auto deadline = Clock::now() + kLimit;
        auto quiet_until = Clock::time_point::max();
        while (Clock::now() < deadline && Clock::now() < quiet_until) {
            std::unique_ptr<RdKafka::Message> m(c->consume(250));
            if (m->err() == RdKafka::ERR_NO_ERROR) ++extra;
            if (assigned == 0) {
                std::vector<RdKafka::TopicPartition*> a;
                c->assignment(a);
                assigned = a.size();
                RdKafka::TopicPartition::destroy(a);
                // once assigned, fetch for a while: committed offsets must hold us at the end
                if (assigned > 0) quiet_until = Clock::now() + std::chrono::seconds(3);
            }
        }
        EXPECT_EQ(assigned, static_cast<size_t>(kPartitions));
        EXPECT_EQ(extra, 0) << "second consumer re-read committed messages";
        c->close();
    }
}

}  // namespace
