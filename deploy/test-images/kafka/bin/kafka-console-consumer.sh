#!/bin/bash
# Kafka's kafka-console-consumer.sh: org.apache.kafka.tools.consumer.ConsoleConsumer
KAFKA_HEAP_OPTS="-Xmx256m" exec "$(dirname "$0")/kafka-run-class.sh" -XX:TieredStopAtLevel=1 org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
