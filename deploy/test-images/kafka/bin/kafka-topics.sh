#!/bin/bash
# Kafka's kafka-topics.sh: org.apache.kafka.tools.TopicCommand
KAFKA_HEAP_OPTS="-Xmx256m" exec "$(dirname "$0")/kafka-run-class.sh" -XX:TieredStopAtLevel=1 org.apache.kafka.tools.TopicCommand "$@"
