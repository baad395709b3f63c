// A session's device in plain words (sessions/user_agent.hpp).
#include "bsocial/sessions/user_agent.hpp"

#include <gtest/gtest.h>

namespace bsocial::sessions {
namespace {

TEST(UserAgent, BrowsersAndSystems) {
    EXPECT_EQ(describe_device("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
              "Chrome on Windows");
    EXPECT_EQ(describe_device("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
              "Edge on Windows");
    EXPECT_EQ(describe_device("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
                              " (KHTML, like Gecko) Version/17.5 Safari/605.1.15"),
              "Safari on macOS");
    EXPECT_EQ(describe_device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
                              "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
                              "Mobile/15E148 Safari/604.1"),
              "Safari on iPhone");
    EXPECT_EQ(describe_device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
                              "AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 "
                              "Mobile/15E148 Safari/604.1"),
              "Chrome on iPhone");
    EXPECT_EQ(describe_device("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
              "Chrome on Android");
    EXPECT_EQ(describe_device("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 "
                              "Firefox/133.0"),
              "Firefox on Ubuntu");
    EXPECT_EQ(describe_device("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                              "Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"),
              "Headless Chrome on Linux");
    EXPECT_EQ(describe_device("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) Chrome/120.0 Safari/537.36 OPR/106.0"),
              "Opera on Windows");
    EXPECT_EQ(describe_device("Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0 Mobile "
                              "Safari/537.36"),
              "Samsung Internet on Android");
    EXPECT_EQ(describe_device("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
              "Chrome on ChromeOS");
}

TEST(UserAgent, ToolsAndUnknowns) {
    EXPECT_EQ(describe_device("curl/8.5.0"), "curl");
    EXPECT_EQ(describe_device("python-requests/2.31.0"), "Python script");
    EXPECT_EQ(describe_device(""), "Unknown device");
    EXPECT_EQ(describe_device("SomethingElse/1.0"), "Unknown device");
    EXPECT_EQ(describe_device("Mozilla/5.0 (X11; Linux x86_64) Weird/1.0"),
              "Unknown browser on Linux");
    EXPECT_EQ(describe_device(std::string(10000, 'x') + "Firefox/1"), "Unknown device");
}

}  // namespace
}  // namespace bsocial::sessions
