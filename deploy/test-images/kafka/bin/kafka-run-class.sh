#!/bin/bash
# java with Kafka's jars; KAFKA_HEAP_OPTS and KAFKA_OPTS as in Kafka's own script.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_OPTS:-} -Djava.awt.headless=true \
  "-Dorg.slf4j.simpleLogger.defaultLogLevel=${KAFKA_TOOL_LOG_LEVEL:-warn}" \
  -Dorg.slf4j.simpleLogger.showDateTime=true \
  -cp '/opt/kafka/libs/*' "$@"
