// The HTTP server on a real socket (loopback, port 0): what happens when application
// code throws inside a connection (issue 9 item 10), and the connection caps (item 6).

#include "bsocial/http/server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace bsocial::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

/// A server running on its own thread; stopped and joined on destruction.
class running_server {
  public:
    running_server(const router& routes, server_options options = {}, int io_threads = 1) {
        options.port = 0;
        options.io_threads = io_threads;
        options.blocking_threads = 2;
        server_ = std::make_unique<server>(options, routes, stats_);
        port_ = server_->listen();
        thread_ = std::thread([this] { server_->run(); });
    }
    ~running_server() {
        server_->stop();
        thread_.join();
    }
    unsigned port() const { return port_; }
    server& get() { return *server_; }

  private:
    metrics stats_;
    std::unique_ptr<server> server_;
    unsigned port_ = 0;
    std::thread thread_;
};

/// Polls `done` for up to 5 s.
template <class F>
bool eventually(F done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

tcp::socket connect_to(asio::io_context& io, unsigned port) {
    tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    return s;
}

/// Sends `request` and reads until the server closes or `timeout` passes; returns what
/// was read, and in `closed` whether the server closed the connection.
std::string exchange(tcp::socket& s, const std::string& request, bool& closed,
                     std::chrono::milliseconds timeout = 3000ms) {
    if (!request.empty()) asio::write(s, asio::buffer(request));
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    closed = false;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        closed = n == 0 || (n < 0 && errno == ECONNRESET);
        return out;
    }
}

/// Reads one HTTP response head (up to the blank line); the connection stays open.
std::string read_head(tcp::socket& s) {
    asio::streambuf buf;
    asio::read_until(s, buf, "\r\n\r\n");
    return {asio::buffers_begin(buf.data()), asio::buffers_end(buf.data())};
}

const std::string upgrade =
    "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A masked client text frame (RFC 6455: clients mask; the key 0 leaves the text as is).
std::string text_frame(const std::string& text) {
    std::string f;
    f += static_cast<char>(0x81);
    f += static_cast<char>(0x80 | text.size());
    f += std::string(4, '\0');
    return f + text;
}

router routes_with_ws(std::function<ws_callbacks(std::shared_ptr<ws_connection>)> open) {
    router r;
    r.add("GET", "/ping", [](request&) {
        response res;
        res.body = "pong";
        res.content_type = "text/plain";
        return res;
    });
    r.add_websocket("/ws", [open](request&) {
        ws_decision d;
        d.open = open;
        return d;
    });
    return r;
}

}  // namespace

TEST(ServerConnections, AThrowingWebSocketOpenClosesTheSocketAndFreesTheEntry) {
    const router r = routes_with_ws([](std::shared_ptr<ws_connection>) -> ws_callbacks {
        throw std::runtime_error("open failed");
    });
    running_server srv(r);
    asio::io_context io;
    auto s = connect_to(io, srv.port());
    bool closed = false;
    const std::string got = exchange(s, upgrade, closed);
    EXPECT_NE(got.find("101"), std::string::npos) << got;
    EXPECT_TRUE(closed) << "the server kept the socket of a connection whose coroutine threw";
    EXPECT_TRUE(eventually([&] { return srv.get().connection_count() == 0; }));
}

TEST(ServerConnections, OnCloseRunsExactlyOnceEvenWhenOnMessageThrows) {
    std::atomic<int> closes{0};
    const router r = routes_with_ws([&closes](std::shared_ptr<ws_connection>) {
        ws_callbacks c;
        c.on_message = [](const std::string&) { throw std::runtime_error("bad message"); };
        c.on_close = [&closes] { ++closes; };
        return c;
    });
    running_server srv(r);
    {
        asio::io_context io;
        auto s = connect_to(io, srv.port());
        asio::write(s, asio::buffer(upgrade));
        EXPECT_NE(read_head(s).find("101"), std::string::npos);
        asio::write(s, asio::buffer(text_frame("hello")));
        std::this_thread::sleep_for(100ms);
        EXPECT_EQ(closes.load(), 0);
        EXPECT_EQ(srv.get().connection_count(), 1u);
    }  // the client goes away
    EXPECT_TRUE(eventually([&] { return closes.load() == 1; }));
    EXPECT_TRUE(eventually([&] { return srv.get().connection_count() == 0; }));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(closes.load(), 1);
}

TEST(ServerConnections, OnCloseRunsOnceWhenTheServerStopsWithSocketsOpen) {
    std::atomic<int> closes{0};
    const router r = routes_with_ws([&closes](std::shared_ptr<ws_connection>) {
        ws_callbacks c;
        c.on_close = [&closes] { ++closes; };
        return c;
    });
    asio::io_context io;
    tcp::socket s(io);
    std::thread client;
    {
        running_server srv(r);
        s = connect_to(io, srv.port());
        asio::write(s, asio::buffer(upgrade));
        EXPECT_NE(read_head(s).find("101"), std::string::npos);
        EXPECT_TRUE(eventually([&] { return srv.get().connection_count() == 1; }));
        // The client hangs up when the server's close frame (1001) arrives.
        client = std::thread([&s] {
            char buf[64];
            (void)::recv(s.native_handle(), buf, sizeof buf, 0);
            ::shutdown(s.native_handle(), SHUT_RDWR);
        });
    }  // stop() while the socket is open
    client.join();
    EXPECT_EQ(closes.load(), 1);
}

TEST(ServerConnections, PerClientCapRefusesTheNextConnectionAndSparesTheOthers) {
    const router r = routes_with_ws(nullptr);
    server_options o;
    o.max_connections_per_client = 3;
    running_server srv(r, o);
    asio::io_context io;
    std::vector<tcp::socket> held;
    for (int i = 0; i < 3; ++i) held.push_back(connect_to(io, srv.port()));
    ASSERT_TRUE(eventually([&] { return srv.get().connection_count() == 3; }));

    auto extra = connect_to(io, srv.port());
    bool closed = false;
    const std::string refused = exchange(extra, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", closed);
    EXPECT_NE(refused.find("HTTP/1.1 429"), std::string::npos) << refused;
    EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
    EXPECT_TRUE(closed);
    EXPECT_EQ(srv.get().refused_count(), 1u);

    for (auto& s : held) {  // the first three still work
        asio::write(s, asio::buffer(std::string("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")));
        EXPECT_NE(read_head(s).find("200 OK"), std::string::npos);
    }
}

tcp::socket connect_from(asio::io_context& io, const char* source, unsigned port) {
    tcp::socket s(io);
    s.open(tcp::v4());
    s.bind({asio::ip::make_address(source), 0});
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    return s;
}

/// A /whoami route answering the request's client_address and peer_trusted.
router routes_with_whoami() {
    router r = routes_with_ws([](std::shared_ptr<ws_connection>) { return ws_callbacks{}; });
    r.add("GET", "/whoami", [](request& req) {
        response res;
        res.body = req.client_address + (req.peer_trusted ? " trusted" : " direct");
        res.content_type = "text/plain";
        return res;
    });
    return r;
}

std::string body_of(const std::string& answer) {
    const auto at = answer.find("\r\n\r\n");
    return at == std::string::npos ? "" : answer.substr(at + 4);
}

TEST(ServerClientIdentity, BehindATrustedProxyTheClientIsTheForwardedOne) {
    const router r = routes_with_whoami();
    server_options o;
    o.trusted = trusted_proxies({"127.0.0.1/32"});
    running_server srv(r, o);
    asio::io_context io;
    bool closed = false;
    const std::string xff = "GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            "X-Forwarded-For: 198.51.100.1, 203.0.113.9\r\n\r\n";
    auto proxy = connect_from(io, "127.0.0.1", srv.port());
    EXPECT_EQ(body_of(exchange(proxy, xff, closed)), "203.0.113.9 trusted");
    // the same header from a peer that is not trusted is ignored
    auto other = connect_from(io, "127.0.0.2", srv.port());
    EXPECT_EQ(body_of(exchange(other, xff, closed)), "127.0.0.2 direct");
}

TEST(ServerClientIdentity, ATrustedProxyIsNotCappedPerClientButItsWebSocketsAreByClient) {
    const router r = routes_with_whoami();
    server_options o;
    o.max_connections_per_client = 2;
    o.trusted = trusted_proxies({"127.0.0.1/32"});
    running_server srv(r, o);
    asio::io_context io;
    // the proxy holds more connections than the per-client cap
    std::vector<tcp::socket> held;
    for (int i = 0; i < 4; ++i) held.push_back(connect_from(io, "127.0.0.1", srv.port()));
    ASSERT_TRUE(eventually([&] { return srv.get().connection_count() == 4; }));
    for (auto& s : held) {
        asio::write(s, asio::buffer(std::string("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")));
        EXPECT_NE(read_head(s).find("200 OK"), std::string::npos);
    }
    // WebSockets through it count against the forwarded client: two for 203.0.113.9 ...
    const auto ws_for = [](const std::string& client) {
        std::string u = upgrade;
        return u.insert(u.size() - 2, "X-Forwarded-For: " + client + "\r\n");
    };
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 2; ++i) {
        sockets.push_back(connect_from(io, "127.0.0.1", srv.port()));
        asio::write(sockets.back(), asio::buffer(ws_for("203.0.113.9")));
        EXPECT_NE(read_head(sockets.back()).find("101"), std::string::npos);
    }
    // ... the third is refused 429, another client's is not
    auto third = connect_from(io, "127.0.0.1", srv.port());
    bool closed = false;
    const std::string refused = exchange(third, ws_for("203.0.113.9"), closed);
    EXPECT_NE(refused.find("HTTP/1.1 429"), std::string::npos) << refused;
    EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
    EXPECT_EQ(srv.get().refused_count(), 1u);
    auto other = connect_from(io, "127.0.0.1", srv.port());
    asio::write(other, asio::buffer(ws_for("203.0.113.10")));
    EXPECT_NE(read_head(other).find("101"), std::string::npos);
    // a closed WebSocket gives its place back
    sockets.front().close();
    ASSERT_TRUE(eventually([&] { return srv.get().connection_count() == 4 + 2; }));
    auto again = connect_from(io, "127.0.0.1", srv.port());
    asio::write(again, asio::buffer(ws_for("203.0.113.9")));
    EXPECT_NE(read_head(again).find("101"), std::string::npos);
}

TEST(ServerConnections, AtTheServerCapTheOldestIdleConnectionMakesRoom) {
    const router r = routes_with_ws(nullptr);
    server_options o;
    o.max_connections = 2;
    running_server srv(r, o);
    asio::io_context io;
    auto idle = connect_to(io, srv.port());
    ASSERT_TRUE(eventually([&] { return srv.get().connection_count() == 1; }));
    auto busy = connect_to(io, srv.port());
    ASSERT_TRUE(eventually([&] { return srv.get().connection_count() == 2; }));
    // `busy` is in the middle of a request: half its headers sent.
    asio::write(busy, asio::buffer(std::string("GET /ping HTTP/1.1\r\n")));
    std::this_thread::sleep_for(100ms);

    auto fresh = connect_to(io, srv.port());
    bool closed = false;
    const std::string answer =
        exchange(fresh, "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", closed);
    EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
    exchange(idle, "", closed, 1000ms);
    EXPECT_TRUE(closed) << "the idle connection should have been shed";
    asio::write(busy, asio::buffer(std::string("Host: x\r\n\r\n")));
    EXPECT_NE(read_head(busy).find("200 OK"), std::string::npos);
}

TEST(ServerConnections, AtTheServerCapWithNothingIdleANewConnectionGets503) {
    const router r = routes_with_ws(nullptr);
    server_options o;
    o.max_connections = 1;
    running_server srv(r, o);
    asio::io_context io;
    auto busy = connect_to(io, srv.port());
    asio::write(busy, asio::buffer(std::string("GET /ping HTTP/1.1\r\n")));
    ASSERT_TRUE(eventually([&] { return srv.get().connection_count() == 1; }));
    std::this_thread::sleep_for(100ms);

    auto extra = connect_to(io, srv.port());
    bool closed = false;
    const std::string refused = exchange(extra, "", closed);
    EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
    EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
    EXPECT_TRUE(closed);
    asio::write(busy, asio::buffer(std::string("Host: x\r\n\r\n")));
    EXPECT_NE(read_head(busy).find("200 OK"), std::string::npos);
}

TEST(ServerConnections, IdleAndSlowConnectionsAreClosedAtTheirDeadlines) {
    const router r = routes_with_ws(nullptr);
    server_options o;
    o.header_timeout = 1s;
    o.keep_alive_timeout = 1s;
    running_server srv(r, o);
    asio::io_context io;
    auto silent = connect_to(io, srv.port());
    auto slow = connect_to(io, srv.port());
    asio::write(slow, asio::buffer(std::string("GET /ping HTTP/1.1\r\n")));
    auto kept = connect_to(io, srv.port());
    asio::write(kept, asio::buffer(std::string("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")));
    EXPECT_NE(read_head(kept).find("200 OK"), std::string::npos);
    for (auto* s : {&silent, &slow, &kept}) {
        bool closed = false;
        exchange(*s, "", closed, 3000ms);
        EXPECT_TRUE(closed);
    }
    EXPECT_TRUE(eventually([&] { return srv.get().connection_count() == 0; }));
}

TEST(ServerConnections, DefaultCapLeavesHeadroomUnderTheDescriptorLimit) {
    EXPECT_EQ(default_max_connections(20000), 20000u - 128 - 1000);
    EXPECT_LT(default_max_connections(1024), 1024u - 128);
    EXPECT_GT(default_max_connections(64), 0u);
    EXPECT_GE(raise_fd_limit(), 64u);
}

TEST(ServerPools, RequestsWaitingOnTheWaitingPoolLeaveTheSqlPoolFree) {
    // Two requests of a waiting-pool route are held inside their handlers; a request of
    // an ordinary route is still answered. On one pool of two threads it could not be.
    std::mutex m;
    std::condition_variable cv;
    int inside = 0;
    bool release = false;
    router r = routes_with_ws([](std::shared_ptr<ws_connection>) -> ws_callbacks { return {}; });
    r.add(
        "POST", "/login",
        [&](request&) {
            std::unique_lock lock(m);
            ++inside;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
            response res;
            res.body = "in";
            return res;
        },
        runs_on::waiting_pool);
    server_options options;
    options.waiting_threads = 2;
    running_server srv(r, options);  // and two SQL-pool threads
    asio::io_context io;
    auto a = connect_to(io, srv.port());
    auto b = connect_to(io, srv.port());
    const std::string login =
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    asio::write(a, asio::buffer(login));
    asio::write(b, asio::buffer(login));
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return inside == 2; }));
    }
    auto c = connect_to(io, srv.port());
    bool closed = false;
    const std::string got =
        exchange(c, "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", closed);
    EXPECT_NE(got.find("pong"), std::string::npos) << got;
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    EXPECT_NE(exchange(a, "", closed).find("in"), std::string::npos);
    EXPECT_NE(exchange(b, "", closed).find("in"), std::string::npos);
}

// ---- flood bounds (issue 24 item 3) -----------------------------------------------------

TEST(ServerWebSockets, FramesThatArriveWhileABatchRunsReachTheApplicationTogether) {
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    std::vector<std::vector<std::string>> calls;
    const router r = routes_with_ws([&](std::shared_ptr<ws_connection>) {
        ws_callbacks c;
        c.on_messages = [&](std::vector<std::string>& texts) {
            std::unique_lock lock(m);
            calls.push_back(texts);
            cv.notify_all();
            cv.wait(lock, [&] { return release; });  // the first call holds the socket's turn
        };
        return c;
    });
    running_server srv(r);
    asio::io_context io;
    auto s = connect_to(io, srv.port());
    asio::write(s, asio::buffer(upgrade));
    ASSERT_NE(read_head(s).find("101"), std::string::npos);
    asio::write(s, asio::buffer(text_frame("m0")));
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return calls.size() == 1; }));
    }
    std::string burst;
    for (int i = 1; i <= 50; ++i) burst += text_frame("m" + std::to_string(i));
    asio::write(s, asio::buffer(burst));
    std::this_thread::sleep_for(500ms);  // the server reads them while the first call runs
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lock(m);
        std::size_t n = 0;
        for (const auto& c : calls) n += c.size();
        return n == 51;
    }));
    std::lock_guard lock(m);
    // One frame, then the 50 that waited, in one call (one transaction for acks), in order.
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0], std::vector<std::string>{"m0"});
    ASSERT_EQ(calls[1].size(), 50u);
    for (int i = 1; i <= 50; ++i) EXPECT_EQ(calls[1][i - 1], "m" + std::to_string(i));
}

TEST(ServerWebSockets, ASocketBeyondItsFrameRateIsClosedWith1008) {
    std::atomic<int> handled{0};
    const router r = routes_with_ws([&handled](std::shared_ptr<ws_connection>) {
        ws_callbacks c;
        c.on_message = [&handled](const std::string&) { ++handled; };
        return c;
    });
    server_options o;
    o.websocket.frames_per_second = 1;
    o.websocket.frame_burst = 5;
    running_server srv(r, o);
    asio::io_context io;
    auto s = connect_to(io, srv.port());
    asio::write(s, asio::buffer(upgrade));
    ASSERT_NE(read_head(s).find("101"), std::string::npos);
    std::string flood;
    for (int i = 0; i < 40; ++i) flood += text_frame("ack");
    bool closed = false;
    const std::string got = exchange(s, flood, closed, 2000ms);
    // A close frame (0x88) whose status code is 1008 (0x03F0), "too many frames".
    const auto at = got.find('\x88');
    ASSERT_NE(at, std::string::npos) << "no close frame after a flood";
    ASSERT_GE(got.size(), at + 4);
    EXPECT_EQ(static_cast<unsigned char>(got[at + 2]), 0x03);
    EXPECT_EQ(static_cast<unsigned char>(got[at + 3]), 0xF0);
    EXPECT_NE(got.find("too many frames"), std::string::npos);
    // The burst reached the application; what came after it did not.
    EXPECT_TRUE(eventually([&] { return handled.load() >= 5; }));
    EXPECT_LE(handled.load(), 6);
}

// ---- the request path (issue 26) -------------------------------------------------------

TEST(ServerRequestPath, MemoryAnswersRunOnTheIoThreadOthersOnThePoolPipelinedInOrder) {
    // Which thread answered: the I/O thread (the one running server::run here) or a pool's.
    std::mutex m;
    std::set<std::thread::id> memory_threads, pool_threads, io_threads;
    router r;
    r.add(
        "GET", "/thing/{n}",
        [&](request& req) -> std::optional<response> {
            {
                std::lock_guard lock(m);
                memory_threads.insert(std::this_thread::get_id());
            }
            if (req.params.at(0) == "cold") return std::nullopt;  // needs the pool
            response res;
            res.body = "memory " + req.params.at(0);
            return res;
        },
        [&](request& req) {
            std::this_thread::sleep_for(50ms);  // slower than the memory answers behind it
            {
                std::lock_guard lock(m);
                pool_threads.insert(std::this_thread::get_id());
            }
            response res;
            res.body = "pool " + req.params.at(0);
            return res;
        });
    r.add(
        "GET", "/io",
        [&](request&) {
            {
                std::lock_guard lock(m);
                io_threads.insert(std::this_thread::get_id());
            }
            response res;
            res.body = "io";
            return res;
        },
        runs_on::io_thread);
    running_server srv(r);
    asio::io_context io;
    auto s = connect_to(io, srv.port());
    // Four requests in one write: each answered, in the order asked.
    const std::string get = " HTTP/1.1\r\nHost: x\r\n\r\n";
    bool closed = false;
    const std::string got =
        exchange(s,
                 "GET /thing/cold" + get + "GET /thing/1" + get + "GET /io" + get +
                     "GET /thing/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 closed);
    const auto cold = got.find("pool cold"), one = got.find("memory 1"), io_at = got.find("\r\n\r\nio"),
               two = got.find("memory 2");
    ASSERT_NE(cold, std::string::npos) << got;
    ASSERT_NE(one, std::string::npos) << got;
    ASSERT_NE(io_at, std::string::npos) << got;
    ASSERT_NE(two, std::string::npos) << got;
    EXPECT_LT(cold, one);
    EXPECT_LT(one, io_at);
    EXPECT_LT(io_at, two);
    EXPECT_TRUE(closed);
    std::lock_guard lock(m);
    ASSERT_EQ(memory_threads.size(), 1u);  // one I/O thread, and it is not a pool's
    EXPECT_EQ(io_threads, memory_threads);
    ASSERT_EQ(pool_threads.size(), 1u);
    EXPECT_NE(*pool_threads.begin(), *memory_threads.begin());
}

// ---- I/O threads and the answer's bytes (issue 26: one io_context per I/O thread) -------

namespace {

/// "GET /where" answered on the I/O thread with a number naming that thread.
router thread_naming_routes(std::mutex& m, std::vector<std::thread::id>& seen) {
    router r;
    r.add(
        "GET", "/where",
        [&m, &seen](request&) {
            std::lock_guard lock(m);
            const auto id = std::this_thread::get_id();
            auto it = std::find(seen.begin(), seen.end(), id);
            if (it == seen.end()) it = seen.insert(seen.end(), id);
            response res;
            res.body = std::to_string(it - seen.begin());
            return res;
        },
        runs_on::io_thread);
    return r;
}

/// The body of one keep-alive answer read from `s` (Content-Length bytes after the head).
std::string read_body(tcp::socket& s, asio::streambuf& buf) {
    const std::size_t head = asio::read_until(s, buf, "\r\n\r\n");
    std::string text(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + head);
    buf.consume(head);
    const auto at = text.find("Content-Length: ");
    if (at == std::string::npos) return "<no length> " + text;
    const std::size_t length = std::stoul(text.substr(at + 16));
    if (buf.size() < length) asio::read(s, buf, asio::transfer_exactly(length - buf.size()));
    std::string body(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + length);
    buf.consume(length);
    return body;
}

}  // namespace

TEST(ServerIoThreads, EveryThreadAcceptsOnTheSharedPortAndAConnectionStaysOnItsThread) {
    std::mutex m;
    std::vector<std::thread::id> seen;
    const router r = thread_naming_routes(m, seen);
    running_server srv(r, {}, 2);
    asio::io_context io;
    std::set<std::string> threads;
    for (int c = 0; c < 40; ++c) {  // the kernel spreads them over the two acceptors
        auto s = connect_to(io, srv.port());
        asio::streambuf buf;
        std::string first;
        for (int k = 0; k < 5; ++k) {
            asio::write(s, asio::buffer(std::string("GET /where HTTP/1.1\r\nHost: x\r\n\r\n")));
            const std::string at = read_body(s, buf);
            if (k == 0) first = at;
            EXPECT_EQ(at, first) << "connection " << c << " moved to another I/O thread";
        }
        threads.insert(first);
    }
    EXPECT_EQ(threads.size(), 2u) << "40 connections, all on one of the two I/O threads";
}

TEST(ServerIoThreads, ASecondServerCannotListenOnAPortInUse) {
    router r;
    running_server first(r, {}, 2);
    metrics stats;
    server_options options;
    options.port = first.port();
    options.io_threads = 2;
    server second(options, r, stats);
    EXPECT_THROW(second.listen(), std::exception)
        << "a second server shares the port of a running one";
}

TEST(ServerResponses, AnAnswerLargerThanTheSocketBufferArrivesWhole) {
    std::string big(24 * 1024 * 1024, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);
    router r;
    r.add(
        "GET", "/big",
        [&big](request&) {
            response res;
            res.body = big;
            res.content_type = "text/plain";
            return res;
        },
        runs_on::io_thread);
    r.add("GET", "/ping", [](request&) {
        response res;
        res.body = "pong";
        return res;
    });
    running_server srv(r);
    asio::io_context io;
    auto s = connect_to(io, srv.port());
    asio::write(s, asio::buffer(std::string("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::this_thread::sleep_for(200ms);  // the socket's buffers fill: the rest waits
    asio::streambuf buf;
    EXPECT_TRUE(read_body(s, buf) == big) << "the large body arrived changed";
    // The same connection goes on.
    asio::write(s, asio::buffer(std::string("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")));
    EXPECT_EQ(read_body(s, buf), "pong");
}

TEST(ServerResponses, TheHeadSaysLengthConnectionAndTheHandlersHeaders) {
    router r;
    const auto ok = [](request&) {
        response res;
        res.body = "{\"a\":1}";
        res.set_header("Cache-Control", "max-age=60");
        res.set_header("X-Twice", "first");
        res.set_header("x-twice", "second");
        res.set_header("X-Evil", "a\r\nSet-Cookie: b=1");
        return res;
    };
    r.add("GET", "/ok", ok);
    r.add("HEAD", "/ok", ok);  // the router maps no HEAD to GET: a route says it
    r.add("GET", "/same", [](request&) {
        response res;
        res.status = 304;
        res.set_header("ETag", "\"1\"");
        return res;
    });
    running_server srv(r);
    asio::io_context io;
    bool closed = false;
    {
        auto s = connect_to(io, srv.port());
        const std::string got =
            exchange(s, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", closed);
        EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
        EXPECT_NE(got.find("\r\nContent-Length: 7\r\n"), std::string::npos) << got;
        EXPECT_NE(got.find("\r\nConnection: close\r\n"), std::string::npos) << got;
        EXPECT_NE(got.find("\r\nCache-Control: max-age=60\r\n"), std::string::npos) << got;
        EXPECT_EQ(got.find("no-store"), std::string::npos) << got;
        EXPECT_EQ(got.find("first"), std::string::npos) << got;
        EXPECT_NE(got.find("\r\nx-twice: second\r\n"), std::string::npos) << got;
        EXPECT_EQ(got.find("\r\nSet-Cookie"), std::string::npos) << got;
        EXPECT_NE(got.find("\r\nX-Content-Type-Options: nosniff\r\n"), std::string::npos) << got;
        EXPECT_EQ(got.substr(got.size() - 11), "\r\n\r\n{\"a\":1}") << got;
        EXPECT_TRUE(closed);
    }
    {  // HTTP/1.0 asking to be kept alive; HEAD: the GET's length, no body
        auto s = connect_to(io, srv.port());
        asio::write(s, asio::buffer(std::string(
                           "HEAD /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")));
        const std::string head = read_head(s);
        EXPECT_EQ(head.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << head;
        EXPECT_NE(head.find("\r\nContent-Length: 7\r\n"), std::string::npos) << head;
        EXPECT_NE(head.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << head;
        const std::string more =
            exchange(s, "GET /same HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", closed);
        EXPECT_EQ(more.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u)
            << "HEAD sent a body, or the connection was not kept: " << more;
        EXPECT_EQ(more.find("Content-Length"), std::string::npos) << more;
        EXPECT_TRUE(closed);
    }
}
