"""pytest harness for the Kafka end-to-end tests of the outbox relay.

One real Kafka (the test kit's `kafka` fixture: stack/bstack.py, 1 broker, free ports, a
tmp dir) per session, stopped at the end. Servers (the kit's `server`, `start_server`)
are started per module or per test, each with its own data dir, the relay on, and their
database from the same stack; `start_relay` runs `bsocial relay` on a server's data.

Environment:
  BSOCIAL_BIN       the binary (default: <repo>/build/debug/bsocial)
  BSOCIAL_TEST_DB   sqlite (default) | postgresql (a PostgreSQL of the same stack,
                    one fresh database per server)
  BSOCIAL_TEST_KAFKA_SECURITY  plaintext (default) | sasl_ssl: the broker takes TLS + SASL
                    only, with topic ACLs; servers and relays connect as the relay's user,
                    kcat as the admin (and OpenSearch starts too, for test_sasl_ssl.py)
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def db_backend(kafka):
    return kafka  # KafkaStack.new_database(): SQLite, or a database of its PostgreSQL


@pytest.fixture(scope="session")
def server_env(kafka) -> dict:
    # the relay inside serve connects as the relay's user (nothing more for plaintext)
    return {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap, **kafka.client_env("relay")}


@pytest.fixture(scope="session")
def server_secrets(kafka) -> set:
    return kafka.passwords()  # checked absent from every server's log when it stops
