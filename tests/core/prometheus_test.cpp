#include "bsocial/core/prometheus.hpp"

#include <gtest/gtest.h>

TEST(PrometheusMetric, HelpTypeAndAnExactValue) {
    EXPECT_EQ(bsocial::prometheus_metric("x_total", "counter", "Things.", 1234567),
              "# HELP x_total Things.\n# TYPE x_total counter\nx_total 1234567\n");
    EXPECT_EQ(bsocial::prometheus_metric("lag", "gauge", "Lag.", 1.25),
              "# HELP lag Lag.\n# TYPE lag gauge\nlag 1.25\n");
}
