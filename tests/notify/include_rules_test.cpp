// notify depends on http and sessions, never on api (src/bsocial/notify/README.md): fails
// when a file of src/bsocial/notify includes a header of src/bsocial/api again.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

/// "file:line: text" of every #include of `forbidden` in the module directory `module`.
std::vector<std::string> includes_of(const std::filesystem::path& module,
                                     const std::string& forbidden) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(module)) {
        const auto ext = entry.path().extension();
        if (ext != ".cpp" && ext != ".hpp") continue;
        std::ifstream in(entry.path());
        std::string line;
        for (int number = 1; std::getline(in, line); ++number) {
            const auto first = line.find_first_not_of(" \t");
            if (first == std::string::npos || line.compare(first, 1, "#") != 0) continue;
            if (line.find("include") != std::string::npos &&
                line.find(forbidden) != std::string::npos)
                found.push_back(entry.path().filename().string() + ":" + std::to_string(number) +
                                ": " + line);
        }
    }
    return found;
}

const std::filesystem::path source_dir = BSOCIAL_SOURCE_DIR;

TEST(IncludeRules, NotifyIncludesNothingFromApi) {
    const auto module = source_dir / "src/bsocial/notify";
    ASSERT_TRUE(std::filesystem::is_directory(module)) << module;
    for (const auto& hit : includes_of(module, "bsocial/api/"))
        ADD_FAILURE() << "notify may not include api (notify/README.md): " << hit;
}

TEST(IncludeRules, TheCheckSeesAnInclude) {
    // The rule above must be able to fail: api itself includes api headers.
    EXPECT_FALSE(includes_of(source_dir / "src/bsocial/api", "bsocial/api/").empty());
}

}  // namespace
