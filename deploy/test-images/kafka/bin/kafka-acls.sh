#!/bin/bash
# Kafka's kafka-acls.sh: org.apache.kafka.tools.AclCommand
KAFKA_HEAP_OPTS="-Xmx256m" exec "$(dirname "$0")/kafka-run-class.sh" -XX:TieredStopAtLevel=1 org.apache.kafka.tools.AclCommand "$@"
