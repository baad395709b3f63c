"""bsocial_testkit: the one Python kit of bSocial's test suites and benchmarks.

  paths       REPO, binary_path() (BSOCIAL_BIN)
  process     BsocialProcess: runs `bsocial <any subcommand>` (env, logs, ready line,
              stop/kill/restart, failure reports)
  server      ServerProcess (`serve`), NotifierProcess, RelayProcess
  http        Client (checked test client, or keep-alive bench client), Resp
  api         the contract's formats and error shape, User, hexid, q, ts_to_ms ...
  jwt         JWT encode/decode/key helpers
  waiting     wait_until (the one bounded wait)
  database    Database peeks, OutboxAction, database backends (SQLite / PostgreSQL)
  stack       bstack.Stack (stack/bstack.py: PostgreSQL, Kafka, search engines)
  kafka       KafkaStack, kcat topic readers, metric_value
  notify      WebSocket stream client and notification helpers
  telemetry   search engine endpoint and requests, TelemetryProcess, `bsocial query`
  reliability the whole pipeline, a steady load and the end-to-end audit
  pytest_plugin  the shared fixtures (loaded by the root conftest.py)

Imports are by module: `from bsocial_testkit.http import Client`.
"""
