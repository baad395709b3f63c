"""The pieces of stack/bstack.py, one module a job:

    common.py      errors, logging, ports, processes (nothing about a particular server)
    java.py        the Maven-fetched jars and compiled Java helpers (the jar cache)
    state.py       StateFile: <dir>/stack.json, the ports, pids and URLs of the servers
    server.py      Server: what every server class provides to Stack and the CLI
    postgres.py    Postgres(Server)
    kafka.py       Kafka(Server)
    opensearch.py  OpenSearch(Server)
    stack.py       Stack: the servers of one directory, and SERVERS (the registry)

Tests and tools import `bstack` (stack/bstack.py), which re-exports the public names.
"""
