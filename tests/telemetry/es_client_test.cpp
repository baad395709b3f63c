// es_client with several nodes (BSOCIAL_ELASTICSEARCH_URL as a comma-separated list): a node
// that refuses the connection or whose gateway answers 502/503/504 is skipped, the node that
// answered is asked first next time, and only when every node failed is the cluster
// unreachable. The nodes are tiny HTTP servers on loopback ports chosen by the kernel.

#include "bsocial/telemetry/es_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "bsocial/telemetry/config.hpp"

namespace bsocial::telemetry {
namespace {

/// Answers every request with `status` and a body naming the node; counts the requests.
class fake_node {
  public:
    fake_node(int status, std::string name) : status_(status), name_(std::move(name)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(fd_, 16), 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~fake_node() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int requests() const { return requests_.load(); }

  private:
    void serve() {
        for (;;) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string in;
            char buf[4096];
            while (in.find("\r\n\r\n") == std::string::npos) {
                const auto n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                in.append(buf, static_cast<std::size_t>(n));
            }
            ++requests_;
            const std::string body = "{\"node\":\"" + name_ + "\"}";
            const std::string out = "HTTP/1.1 " + std::to_string(status_) +
                                    " X\r\nContent-Type: application/json\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                    body;
            ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
            ::close(c);
        }
    }

    int status_;
    std::string name_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<int> requests_{0};
    std::thread thread_;
};

/// A loopback port nobody listens on (bound, then closed).
std::string refused_url() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

elasticsearch_config config_of(const std::string& urls) {
    elasticsearch_config c;
    c.url = urls;
    c.request_timeout_ms = 3000;
    return c;
}

TEST(EsClientNodes, SplitsTrimsAndValidatesTheList) {
    EXPECT_EQ(split_urls(" http://a:1 ,http://b:2,, https://c:3/ "),
              (std::vector<std::string>{"http://a:1", "http://b:2", "https://c:3/"}));
    EXPECT_NO_THROW(config_of("http://a:1,https://b:2").validate());
    EXPECT_THROW(config_of("http://a:1,b:2").validate(), std::invalid_argument);
    EXPECT_THROW(config_of(" , ").validate(), std::invalid_argument);
    auto split = split_credentials(config_of("https://u:p%40ss@a:1,https://u:p%40ss@b:2"));
    EXPECT_EQ(split.url, "https://a:1,https://b:2");
    EXPECT_EQ(split.user, "u");
    EXPECT_EQ(split.password, "p@ss");
}

TEST(EsClientNodes, ARefusedNodeIsSkippedAndTheAnsweringOneKept) {
    fake_node up(200, "two");
    const auto down = refused_url();
    es_client es(config_of(down + "," + up.url()));
    EXPECT_EQ(es.display_url(), down + "," + up.url());
    auto r = es.request("GET", "/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"node\":\"two\"}");
    r = es.request("GET", "/");  // asked first now: still one request each
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(up.requests(), 2);
}

TEST(EsClientNodes, AGatewaysBadGatewayMovesOnButAnErrorOfTheEngineDoesNot) {
    fake_node proxy_of_dead_node(502, "one");
    fake_node conflict(409, "two");
    fake_node spare(200, "three");
    es_client es(config_of(proxy_of_dead_node.url() + "," + conflict.url() + "," + spare.url()));
    const auto r = es.request("PUT", "/x", "{}");
    EXPECT_EQ(r.status, 409);  // the engine's own answer: returned, not retried elsewhere
    EXPECT_EQ(r.body, "{\"node\":\"two\"}");
    EXPECT_EQ(proxy_of_dead_node.requests(), 1);
    EXPECT_EQ(spare.requests(), 0);
}

TEST(EsClientNodes, UnreachableOnlyWhenEveryNodeFailed) {
    es_client es(config_of(refused_url() + "," + refused_url()));
    EXPECT_THROW(es.request("GET", "/"), es_unreachable);
    // one node: its 503 is the answer, as before lists existed
    fake_node busy(503, "only");
    es_client single(config_of(busy.url()));
    EXPECT_EQ(single.request("GET", "/").status, 503);
}

}  // namespace
}  // namespace bsocial::telemetry
