#include "bsocial/http/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace bsocial::http;

namespace {
class StaticFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ =
            std::filesystem::temp_directory_path() / ("static-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(root_ / "assets");
        write(root_ / "index.html", "<!doctype html><p>app</p>");
        write(root_ / "assets" / "app-1a2b.js", "console.log(1)");
        write(root_.parent_path() / "secret.txt", "do not serve");
    }
    void TearDown() override {
        std::filesystem::remove_all(root_);
        std::filesystem::remove(root_.parent_path() / "secret.txt");
    }
    static void write(const std::filesystem::path& p, const std::string& text) {
        std::ofstream(p) << text;
    }
    static request get(std::string path) {
        request r;
        r.method = "GET";
        r.path = std::move(path);
        return r;
    }
    static std::string header(const response& res, const std::string& name) {
        for (const auto& [k, v] : res.headers)
            if (k == name) return v;
        return "";
    }
    std::filesystem::path root_;
};
}  // namespace

TEST_F(StaticFiles, ServesIndexWithSecurityHeaders) {
    static_files files(root_);
    const auto res = files.serve(get("/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->content_type, "text/html; charset=utf-8");
    EXPECT_NE(header(*res, "Content-Security-Policy").find("object-src 'none'"), std::string::npos);
    EXPECT_NE(header(*res, "Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(header(*res, "Referrer-Policy"), "no-referrer");
}

// Issue 9 item 5: "ws: wss:" would let a script injected into the page open a WebSocket
// to any host; 'self' covers the app's own ws(s) origin (CSP Level 3).
TEST_F(StaticFiles, ConnectSrcIsSelfOnlyNoWebSocketSchemeWildcard) {
    static_files files(root_);
    const auto res = files.serve(get("/"));
    ASSERT_TRUE(res);
    const std::string csp = header(*res, "Content-Security-Policy");
    EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("ws:"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("wss:"), std::string::npos) << csp;
}

TEST_F(StaticFiles, HashedAssetsAreCachedForGood) {
    static_files files(root_);
    const auto res = files.serve(get("/assets/app-1a2b.js"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "console.log(1)");
    EXPECT_EQ(res->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(header(*res, "Cache-Control"), "public, max-age=31536000, immutable");
}

TEST_F(StaticFiles, ClientRoutesGetTheAppButMissingFilesDoNot) {
    static_files files(root_);
    const auto route = files.serve(get("/users/ada"));
    ASSERT_TRUE(route);
    EXPECT_NE(route->body.find("app"), std::string::npos);
    EXPECT_FALSE(files.serve(get("/assets/missing.js")));
}

TEST_F(StaticFiles, NeverLeavesTheRoot) {
    static_files files(root_);
    EXPECT_FALSE(files.serve(get("/../secret.txt")));
    EXPECT_FALSE(files.serve(get("/assets/../../secret.txt")));
    EXPECT_FALSE(files.serve(get("/.hidden")));
    EXPECT_FALSE(files.serve(get("/a\\..\\secret.txt")));
    request post = get("/");
    post.method = "POST";
    EXPECT_FALSE(files.serve(post));
}

TEST_F(StaticFiles, RootWithoutIndexIsAStartError) {
    EXPECT_THROW(static_files(root_ / "assets"), std::invalid_argument);
}

// Issue 28 item 5: the build's NAME.gz is sent to clients that accept gzip, with
// Content-Encoding, Vary and an ETag of its own; anyone else gets the plain file.
TEST_F(StaticFiles, SendsThePrecompressedFileOnlyWhenGzipIsAccepted) {
    write(root_ / "assets" / "app-1a2b.js.gz", "GZIPPED-BYTES");
    static_files files(root_);
    auto ask = [&](const char* accept) {
        auto r = get("/assets/app-1a2b.js");
        if (accept) r.headers.emplace_back("accept-encoding", accept);
        return *files.serve(r);
    };
    const auto zipped = ask("gzip, deflate, br");
    EXPECT_EQ(zipped.body, "GZIPPED-BYTES");
    EXPECT_EQ(header(zipped, "Content-Encoding"), "gzip");
    EXPECT_EQ(header(zipped, "Vary"), "Accept-Encoding");
    EXPECT_EQ(zipped.content_type, "text/javascript; charset=utf-8");

    for (const char* accept : {static_cast<const char*>(nullptr), "identity", "br", "gzip;q=0",
                               "GZIP;q=0.0, br", "*;q=0"}) {
        const auto plain = ask(accept);
        EXPECT_EQ(plain.body, "console.log(1)") << (accept ? accept : "(none)");
        EXPECT_EQ(header(plain, "Content-Encoding"), "") << (accept ? accept : "(none)");
        EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
        EXPECT_NE(header(plain, "ETag"), header(zipped, "ETag"));
    }
    EXPECT_EQ(ask("x-gzip").body, "GZIPPED-BYTES");
    EXPECT_EQ(ask("*").body, "GZIPPED-BYTES");
    EXPECT_EQ(ask("br;q=1, gzip;q=0.5").body, "GZIPPED-BYTES");
}

TEST_F(StaticFiles, WithoutAGzFileTheAnswerIsPlainEvenWhenGzipIsAccepted) {
    static_files files(root_);
    auto r = get("/assets/app-1a2b.js");
    r.headers.emplace_back("accept-encoding", "gzip");
    const auto res = files.serve(r);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "console.log(1)");
    EXPECT_EQ(header(*res, "Content-Encoding"), "");
    EXPECT_FALSE(header(*res, "ETag").empty());
}
