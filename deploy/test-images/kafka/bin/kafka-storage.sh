#!/bin/bash
# Kafka's kafka-storage.sh: kafka.tools.StorageTool
KAFKA_HEAP_OPTS="-Xmx256m" exec "$(dirname "$0")/kafka-run-class.sh" -XX:TieredStopAtLevel=1 kafka.tools.StorageTool "$@"
