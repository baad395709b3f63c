"""End-to-end checks of stack/bstack.py: real PostgreSQL, Kafka and OpenSearch
on free ports in a temporary dir. No timing assertions: waits are bounded
liveness limits only."""
from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

import bstack  # stack/bstack.py (pytest.ini: pythonpath)

REPO = Path(__file__).resolve().parents[2]


def _kcat() -> str:
    k = shutil.which("kcat") or shutil.which("kafkacat")
    assert k, "kcat not installed (apt-get install kcat)"
    return k


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = bstack.Stack(tmp_path_factory.mktemp("stack"))
    try:
        s.start(kafka=True, opensearch=True, elasticsearch=True, postgres=True, brokers=1)
        yield s
    finally:
        s.stop_all()


def _http(method: str, url: str, body: dict | None = None, auth: dict | None = None) -> dict:
    """JSON request; with auth (Elasticsearch's credentials()) over https as `elastic`."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    ctx = None
    if auth:
        token = base64.b64encode(f"{auth['user']}:{auth['password']}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        ctx = ssl.create_default_context(cafile=auth["ca_file"])
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60, context=ctx) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------- PostgreSQL

def _psql(url: str, sql: str) -> str:
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_postgres_answers_select_1(stack):
    url = stack.start_postgres()  # already running: same URL back
    assert url.startswith("postgresql://postgres@127.0.0.1:") and url.endswith("/bsocial")
    assert _psql(url, "select 1") == "1"


def test_postgres_fresh_database(stack):
    name = "t_" + uuid.uuid4().hex[:12]
    url = stack.create_database(name)
    assert url.endswith("/" + name)
    _psql(url, "create table t (id bigint primary key); insert into t values (42)")
    assert _psql(url, "select id from t") == "42"
    assert stack.create_database(name) == url  # idempotent
    stack.drop_database(name)


# ---------------------------------------------------------------- Kafka

def _metadata(bootstrap: str) -> dict:
    r = subprocess.run([_kcat(), "-L", "-J", "-b", bootstrap], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_kafka_topics_created(stack):
    meta = _metadata(stack.start_kafka())
    topics = {t["topic"]: t for t in meta["topics"]}
    for name in bstack.TOPICS:
        assert name in topics, sorted(topics)
        parts = topics[name]["partitions"]
        assert len(parts) == 3
        assert all(p["leader"] >= 0 for p in parts)


def _produce(bootstrap: str, topic: str, key: str, value: str) -> None:
    r = subprocess.run([_kcat(), "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-k", key,
                        "-X", "enable.idempotence=true", "-X", "compression.codec=gzip"],
                       input=value + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def _consume_all(bootstrap: str, topic: str) -> list[str]:
    r = subprocess.run([_kcat(), "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
                        "-e", "-q", "-f", "%k=%s\\n"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_kafka_produce_consume_with_kcat(stack):
    bootstrap = stack.start_kafka()
    value = "hello-" + uuid.uuid4().hex
    _produce(bootstrap, "bsocial.posts", "post-1", value)
    assert f"post-1={value}" in _consume_all(bootstrap, "bsocial.posts")


def test_kafka_restart_keeps_data(stack):
    bootstrap = stack.start_kafka()
    value = "kept-" + uuid.uuid4().hex
    _produce(bootstrap, "bsocial.comments", "c", value)
    stack.stop_kafka()
    assert stack.kafka_running() == []
    assert stack.start_kafka() == bootstrap  # same ports again
    assert f"c={value}" in _consume_all(bootstrap, "bsocial.comments")


def test_librdkafka_smoke(stack, tmp_path):
    """Runs tests/stack/kafka_smoke_test.cpp (GoogleTest + librdkafka C++) against this Kafka.

    ctest passes the CMake-built binary in BSOCIAL_KAFKA_SMOKE_BIN; run by hand, the test
    builds it with g++ (the Makefile installs g++, librdkafka-dev and libgtest-dev)."""
    exe = os.environ.get("BSOCIAL_KAFKA_SMOKE_BIN")
    if not exe:
        exe = tmp_path / "kafka_smoke_test"
        r = subprocess.run(["g++", "-std=c++20", str(REPO / "tests/stack/kafka_smoke_test.cpp"),
                            "-lgtest", "-lgtest_main", "-lrdkafka++", "-lrdkafka", "-pthread",
                            "-o", str(exe)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([str(exe)], env={**os.environ, "BSOCIAL_TEST_KAFKA": stack.start_kafka()},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[  PASSED  ] 1 test" in r.stdout


# ---------------------------------------------------------------- OpenSearch

def test_opensearch_index_and_search(stack):
    url = stack.start_opensearch()
    index = "bsocial-test-" + uuid.uuid4().hex[:8]
    _http("PUT", f"{url}/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                    "mappings": {"properties": {"body": {"type": "text"},
                                                                "author": {"type": "keyword"}}}})
    _http("PUT", f"{url}/{index}/_doc/1?refresh=true", {"body": "Hello bSocial world", "author": "ada"})
    res = _http("POST", f"{url}/{index}/_search",
                {"query": {"match": {"body": "bsocial"}},
                 "aggs": {"by_author": {"terms": {"field": "author"}}}})
    assert res["hits"]["total"]["value"] == 1
    assert res["hits"]["hits"][0]["_source"]["author"] == "ada"
    assert res["aggregations"]["by_author"]["buckets"][0]["key"] == "ada"


def test_opensearch_restart_keeps_data(stack):
    url = stack.start_opensearch()
    index = "bsocial-keep-" + uuid.uuid4().hex[:8]
    _http("PUT", f"{url}/{index}/_doc/1?refresh=true", {"body": "survives restarts"})
    assert stack.restart_opensearch() == url
    _http("GET", f"{url}/_cluster/health/{index}?wait_for_status=yellow&timeout=60s")
    assert _http("GET", f"{url}/{index}/_count")["count"] == 1


# ---------------------------------------------------------------- Elasticsearch

def test_elasticsearch_8_over_https_with_a_password(stack):
    url = stack.start_elasticsearch()
    auth = stack.elasticsearch.credentials()
    assert url.startswith("https://127.0.0.1:") and auth["user"] == "elastic"
    assert _http("GET", url + "/", auth=auth)["version"]["number"].startswith("8.")
    with pytest.raises(urllib.error.HTTPError) as e:  # right CA, wrong password
        _http("GET", url + "/", auth={**auth, "password": "wrong"})
    assert e.value.code == 401
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        _http("GET", url + "/")  # the system's CAs do not know the stack's


def test_elasticsearch_composable_template_and_the_aggregations_we_use(stack):
    url, auth = stack.start_elasticsearch(), stack.elasticsearch.credentials()
    index = "bsocial-agg-" + uuid.uuid4().hex[:8]
    _http("PUT", f"{url}/_index_template/{index}", auth=auth, body={
        "index_patterns": [index], "priority": 500,
        "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                     "mappings": {"properties": {"at": {"type": "date"},
                                                 "user": {"type": "keyword"}}}}})
    # 2026-03-29 is the DST change in Paris: 00:30 UTC is 01:30 there, 23:30 UTC the 30th
    for i, (at, user) in enumerate([("2026-03-28T23:30:00Z", "a"), ("2026-03-29T00:30:00Z", "b"),
                                    ("2026-03-29T21:30:00Z", "b"), ("2026-03-29T22:30:00Z", "c")]):
        _http("PUT", f"{url}/{index}/_doc/{i}", {"at": at, "user": user}, auth=auth)
    _http("POST", f"{url}/{index}/_refresh", auth=auth)
    res = _http("POST", f"{url}/{index}/_search", auth=auth, body={"size": 0, "aggs": {"d": {
        "date_histogram": {"field": "at", "calendar_interval": "day", "time_zone": "Europe/Paris",
                           "format": "yyyy-MM-dd"},
        "aggs": {"u": {"cardinality": {"field": "user", "precision_threshold": 40000}}}}}})
    days = {b["key_as_string"]: (b["doc_count"], b["u"]["value"])
            for b in res["aggregations"]["d"]["buckets"]}
    assert days == {"2026-03-29": (3, 2), "2026-03-30": (1, 1)}


def test_elasticsearch_restart_keeps_data_password_and_ca(stack):
    url, auth = stack.start_elasticsearch(), stack.elasticsearch.credentials()
    index = "bsocial-keep-" + uuid.uuid4().hex[:8]
    _http("PUT", f"{url}/{index}/_doc/1?refresh=true", {"body": "survives restarts"}, auth=auth)
    assert stack.restart_elasticsearch() == url
    assert stack.elasticsearch.credentials() == auth
    _http("GET", f"{url}/_cluster/health/{index}?wait_for_status=yellow&timeout=60s", auth=auth)
    assert _http("GET", f"{url}/{index}/_count", auth=auth)["count"] == 1


# ---------------------------------------------------------------- state

def test_state_file_records_endpoints_and_startup(stack):
    state = json.loads((stack.dir / "stack.json").read_text())
    for name in ("kafka", "opensearch", "elasticsearch", "postgres"):
        assert name in state
        assert isinstance(state[name]["startup_seconds"], (int, float))
    st = stack.status()
    assert st["kafka"]["running_brokers"] == [1]
    assert st["opensearch"]["running"] and st["postgres"]["running"]


def test_stop_all_then_nothing_runs(tmp_path):
    """A small stack of its own: stop_all leaves no process behind, wipe removes data."""
    s = bstack.Stack(tmp_path / "s")
    url = s.start_postgres()
    assert _psql(url, "select 1") == "1"
    pid = json.loads((s.dir / "stack.json").read_text())["postgres"]["pid"]
    s.stop_all()
    assert not bstack.pid_alive(pid)
    assert not s.postgres_running()
    s.wipe()
    assert not (s.dir / "postgres").exists() and not (s.dir / "stack.json").exists()


# ---------------------------------------------------------------- the package (no servers)

def test_cli_selection_of_servers():
    """`up`/`start`: Kafka and OpenSearch by default; naming one selects; --no-X drops X;
    --postgres adds PostgreSQL; --engine elasticsearch (or --es-nodes 3) puts Elasticsearch for
    OpenSearch."""
    def chosen(*flags: str) -> set[str]:
        args = bstack._parser().parse_args(["start", *flags])
        return {n for n, on in bstack._selection(args).items() if on}
    assert chosen() == {"kafka", "opensearch"}
    assert chosen("--kafka") == {"kafka"}
    assert chosen("--opensearch", "--postgres") == {"opensearch", "postgres"}
    assert chosen("--no-kafka") == {"opensearch"}
    assert chosen("--postgres", "--no-kafka", "--no-opensearch") == {"postgres"}
    assert chosen("--postgres") == {"kafka", "opensearch", "postgres"}
    assert chosen("--engine", "elasticsearch") == {"kafka", "elasticsearch"}
    assert chosen("--engine", "elasticsearch", "--no-kafka") == {"elasticsearch"}
    assert chosen("--engine", "opensearch") == {"kafka", "opensearch"}
    assert chosen("--es-nodes", "3") == {"kafka", "elasticsearch"}  # a cluster is Elasticsearch's
    assert chosen("--es-nodes", "3", "--no-kafka") == {"elasticsearch"}


def test_every_server_is_registered_once_with_its_own_dir_and_variable(tmp_path):
    s = bstack.Stack(tmp_path / "s")
    names = [cls.name for cls in bstack.SERVERS]
    assert names == ["kafka", "opensearch", "elasticsearch", "postgres"]
    assert list(s.servers) == names
    assert len({cls.env_var for cls in bstack.SERVERS}) == len(names)
    assert {srv.home for srv in s.servers.values()} == {s.dir / n for n in names}
    for cls in bstack.SERVERS:
        if cls.java:
            assert cls.java in bstack.COMPONENTS
    # nothing started: no endpoint, no status, and start() refuses an unknown server
    assert s.endpoints() == {"dir": str(s.dir)}
    assert s.status() == {"dir": str(s.dir)}
    with pytest.raises(ValueError, match="no such server: nosuch"):
        s.start(kafka=False, opensearch=False, nosuch=True)


def test_state_file_is_shared_written_atomically_and_reloaded(tmp_path):
    from bstacklib.state import StateFile
    path = tmp_path / "stack.json"
    a = StateFile(path)
    a.set("kafka", {"bootstrap": "127.0.0.1:1", "startup_seconds": 4.2})
    a.set("postgres", {"url": "postgresql://x"})
    got = a.get("kafka")
    got["bootstrap"] = "changed"  # get() hands out a copy
    assert a.get("kafka")["bootstrap"] == "127.0.0.1:1"
    b = StateFile(path)  # another process reading the same dir
    assert b.data == {"kafka": {"bootstrap": "127.0.0.1:1", "startup_seconds": 4.2},
                      "postgres": {"url": "postgresql://x"}}
    assert b.startup_seconds() == {"kafka": 4.2}
    assert not path.with_suffix(".json.tmp").exists()
    b.set("postgres", None)
    assert json.loads(path.read_text()) == {"kafka": {"bootstrap": "127.0.0.1:1", "startup_seconds": 4.2}}
    path.write_text("{not json")
    assert StateFile(path).data == {}  # a torn file is treated as empty, never a crash
    b.clear()
    assert not path.exists() and b.data == {}


def test_package_imports_follow_the_readme():
    """stack/README.md: bstacklib imports only the standard library and itself; a server
    module never imports another server module; only stack.py knows every server."""
    import ast
    pkg = REPO / "stack" / "bstacklib"
    servers = {cls.__module__.rsplit(".", 1)[1] for cls in bstack.SERVERS}
    assert servers == {"kafka", "opensearch", "elasticsearch", "postgres"}
    for f in sorted(pkg.glob("*.py")):
        own: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                own.add(node.module or "")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                top = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name)
                assert top.split(".")[0] in sys.stdlib_module_names | {"__future__"}, (f.name, top)
        if f.stem != "stack":
            assert not own & servers, f"{f.name} imports server module(s) {own & servers}"
