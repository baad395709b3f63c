#include "bsocial/core/service_group.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct fake_service {
    std::string name;
    std::vector<std::string>& log;
    bool fail_start = false;
    bool fail_stop = false;
    void start() {
        if (fail_start) throw std::runtime_error(name + " cannot start");
        log.push_back("start " + name);
    }
    void stop() {
        log.push_back("stop " + name);
        if (fail_stop) throw std::runtime_error(name + " cannot stop");
    }
};

}  // namespace

TEST(ServiceGroup, StopsInReverseOrderOfStart) {
    std::vector<std::string> log;
    fake_service a{"a", log}, b{"b", log}, c{"c", log};
    bsocial::service_group group;
    group.start(a);
    group.start(b);
    group.start(c);
    group.stop();
    EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "start c", "stop c", "stop b",
                                             "stop a"}));
    group.stop();  // each stop runs once
    EXPECT_EQ(log.size(), 6u);
}

TEST(ServiceGroup, AStartThatThrowsStopsWhatStartedBefore) {
    std::vector<std::string> log;
    fake_service a{"a", log}, b{"b", log}, broken{"broken", log, true};
    EXPECT_THROW(
        {
            bsocial::service_group group;
            group.start(a);
            group.start(b);
            group.start(broken);  // throws: the group's destructor stops b, then a
        },
        std::runtime_error);
    EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "stop b", "stop a"}));
}

TEST(ServiceGroup, EveryStopRunsAndTheFirstFailureIsRethrown) {
    std::vector<std::string> log;
    fake_service a{"a", log}, b{"b", log, false, true}, c{"c", log, false, true};
    bsocial::service_group group;
    group.start(a);
    group.start(b);
    group.start(c);
    try {
        group.stop();
        FAIL() << "stop() swallowed the failures";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "c cannot stop");
    }
    EXPECT_EQ(log.back(), "stop a");
}

TEST(ServiceGroup, ANullOptionalServiceIsSkippedAndDeferRunsInOrder) {
    std::vector<std::string> log;
    std::unique_ptr<fake_service> absent;
    auto present = std::make_unique<fake_service>(fake_service{"p", log});
    bsocial::service_group group;
    group.start(absent);
    group.start(present);
    group.defer([&log] { log.push_back("deferred"); });
    EXPECT_EQ(group.size(), 2u);
    group.stop();
    EXPECT_EQ(log, (std::vector<std::string>{"start p", "deferred", "stop p"}));
}
