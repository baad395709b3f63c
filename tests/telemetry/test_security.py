"""Elasticsearch's TLS and password, for real: the stack's Elasticsearch answers only over
https (certificate signed by the stack's CA) with user `elastic` and its password. A wrong
password or a CA that did not sign the certificate must stop `bsocial telemetry` and
`bsocial query` at start with a clear message (never retried in silence). Skipped with
BSOCIAL_TEST_ENGINE=opensearch (plain HTTP, no security)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from bsocial_testkit.paths import binary_path
from bsocial_testkit.telemetry import (
    SearchEndpoint, TelemetryProcess, engine_under_test, es_request, query_process)

pytestmark = pytest.mark.skipif(
    engine_under_test() != "elasticsearch",
    reason="security is Elasticsearch's (OpenSearch runs without it here)")

CREDENTIALS_REFUSED = "HTTP 401, Elasticsearch refused the credentials of user 'elastic'"
CA_NOT_TRUSTED = "TLS certificate not trusted"


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> str:
    """A CA of our own that did not sign Elasticsearch's certificate."""
    d = tmp_path_factory.mktemp("otherca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", "2", "-subj",
                    "/CN=not the stack's CA"], check=True, capture_output=True)
    return str(d / "ca.crt")


def telemetry_exit(stack, search: SearchEndpoint, workdir, timeout: float = 30.0):
    """Runs `bsocial telemetry` against `search`; (exit code, seconds, stderr) once it exits."""
    t = TelemetryProcess(workdir, stack.kafka, search)
    t0 = time.monotonic()
    with open(workdir / "stderr.log", "wb") as err:
        proc = subprocess.Popen([str(binary_path()), "telemetry"], env=t.env(), cwd=workdir,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"telemetry still running after {timeout}s with {search}:\n"
                        f"{(workdir / 'stderr.log').read_text()[-2000:]}")
    assert not out.startswith(b"bsocial telemetry consuming"), out  # never became ready
    return proc.returncode, time.monotonic() - t0, (workdir / "stderr.log").read_text()


def test_endpoint_is_https_with_a_password(stack):
    s = stack.search
    assert s.url.startswith("https://127.0.0.1:") and s.user == "elastic" and s.password
    st, body = es_request(s, "GET", "/")
    assert st == 200 and body["version"]["number"].startswith("8."), body
    st, body = es_request(dataclasses.replace(s, password="wrong"), "GET", "/_cluster/health")
    assert st == 401 and body["error"]["type"] == "security_exception", body
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(s.url + "/", timeout=10)  # the system store does not know our CA


def test_telemetry_wrong_password_is_an_error_at_start(stack, tmp_path):
    rc, seconds, err = telemetry_exit(stack, dataclasses.replace(stack.search, password="nope"),
                                      tmp_path)
    assert rc == 1, err
    assert CREDENTIALS_REFUSED in err, err
    assert seconds < 15, seconds


def test_telemetry_without_password_is_an_error_at_start(stack, tmp_path):
    rc, _, err = telemetry_exit(stack, dataclasses.replace(stack.search, user="", password=""),
                                tmp_path)
    assert rc == 1, err
    assert "HTTP 401, Elasticsearch refused the credentials (none given" in err, err


def test_telemetry_unknown_ca_is_an_error_at_start(stack, other_ca, tmp_path):
    rc, seconds, err = telemetry_exit(stack, dataclasses.replace(stack.search, ca_file=other_ca),
                                      tmp_path)
    assert rc == 1, err
    assert CA_NOT_TRUSTED in err and f"BSOCIAL_ELASTICSEARCH_CA_FILE={other_ca}" in err, err
    assert seconds < 15, seconds


def test_telemetry_without_ca_is_an_error_at_start(stack, tmp_path):
    rc, _, err = telemetry_exit(stack, dataclasses.replace(stack.search, ca_file=""), tmp_path)
    assert rc == 1, err
    assert CA_NOT_TRUSTED in err and "set BSOCIAL_ELASTICSEARCH_CA_FILE" in err, err


def test_query_wrong_password_and_unknown_ca_are_errors(stack, other_ca):
    r = query_process(dataclasses.replace(stack.search, password="nope"), "q1", "--json")
    assert r.returncode == 1 and CREDENTIALS_REFUSED in r.stderr, r.stderr
    assert r.stdout == ""
    r = query_process(dataclasses.replace(stack.search, ca_file=other_ca), "q1", "--json")
    assert r.returncode == 1 and CA_NOT_TRUSTED in r.stderr, r.stderr


def test_telemetry_and_query_with_the_right_settings_work(stack, make_telemetry):
    t = make_telemetry()  # ready line: templates and indices made over https
    assert t.running()
    r = query_process(stack.search, "q1", "--days", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["days"][0].keys() == {"day", "logged_in_users"}, r.stdout
