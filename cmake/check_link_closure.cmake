cmake_minimum_required(VERSION 3.25)
# ctest `telemetry_links_no_soci`: cmake -DCLOSURE=<build>/link_closure/bsocial_telemetry.txt -P
# Reads the link closure that cmake/link_rules.cmake wrote at configure time and fails when
# it names SOCI or the SQL stack, or when it does not look like a closure at all.
file(STRINGS "${CLOSURE}" entries)
if(NOT "bsocial_kafka" IN_LIST entries OR NOT "bsocial_events" IN_LIST entries)
  message(FATAL_ERROR "${CLOSURE}: not the telemetry link closure (no bsocial_kafka/events)")
endif()
foreach(entry IN LISTS entries)
  string(TOLOWER "${entry}" lower)
  if(lower MATCHES "bsocial_soci|libsoci|bsocial_store|bsocial_outbox|libpq|sqlite")
    message(FATAL_ERROR "telemetry links ${entry}")
  endif()
endforeach()
list(LENGTH entries n)
message(STATUS "telemetry links ${n} targets and libraries, none of them SOCI or SQL")
