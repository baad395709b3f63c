#include "bsocial/sessions/user_agent.hpp"

namespace bsocial::sessions {

namespace {

bool has(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

std::string browser_of(std::string_view ua) {
    if (has(ua, "Edg/") || has(ua, "EdgA/") || has(ua, "EdgiOS/") || has(ua, "Edge/")) return "Edge";
    if (has(ua, "OPR/") || has(ua, "Opera")) return "Opera";
    if (has(ua, "SamsungBrowser/")) return "Samsung Internet";
    if (has(ua, "Vivaldi/")) return "Vivaldi";
    if (has(ua, "YaBrowser/")) return "Yandex Browser";
    if (has(ua, "Firefox/") || has(ua, "FxiOS/")) return "Firefox";
    if (has(ua, "HeadlessChrome/")) return "Headless Chrome";
    if (has(ua, "Chromium/")) return "Chromium";
    if (has(ua, "Chrome/") || has(ua, "CriOS/")) return "Chrome";
    if (has(ua, "Safari/") && (has(ua, "Version/") || has(ua, "Mobile/"))) return "Safari";
    if (has(ua, "MSIE ") || has(ua, "Trident/")) return "Internet Explorer";
    if (ua.rfind("curl/", 0) == 0) return "curl";
    if (ua.rfind("Wget/", 0) == 0) return "Wget";
    if (ua.rfind("python-requests/", 0) == 0 || ua.rfind("Python-urllib/", 0) == 0 ||
        ua.rfind("python-httpx/", 0) == 0)
        return "Python script";
    if (ua.rfind("okhttp/", 0) == 0) return "Android app";
    if (has(ua, "Safari/")) return "Safari";
    return "";
}

std::string os_of(std::string_view ua) {
    if (has(ua, "iPhone")) return "iPhone";
    if (has(ua, "iPad")) return "iPad";
    if (has(ua, "Android")) return "Android";
    if (has(ua, "CrOS")) return "ChromeOS";
    if (has(ua, "Windows")) return "Windows";
    if (has(ua, "Mac OS X") || has(ua, "Macintosh")) return "macOS";
    if (has(ua, "Ubuntu")) return "Ubuntu";
    if (has(ua, "Linux") || has(ua, "X11")) return "Linux";
    if (has(ua, "FreeBSD")) return "FreeBSD";
    return "";
}

}  // namespace

std::string describe_device(std::string_view ua) {
    if (ua.size() > max_user_agent_bytes) ua = ua.substr(0, max_user_agent_bytes);
    const std::string browser = browser_of(ua);
    const std::string os = os_of(ua);
    if (browser.empty() && os.empty()) return "Unknown device";
    if (os.empty()) return browser;
    if (browser.empty()) return "Unknown browser on " + os;
    return browser + " on " + os;
}

}  // namespace bsocial::sessions
