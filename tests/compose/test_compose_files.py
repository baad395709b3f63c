"""The container files agree with each other and with the project (no podman needed):

- deploy/compose.test.yaml changes image names and nothing else, so `make test-compose`
  runs exactly the compose file users run;
- .env.example lists exactly the variables compose.yaml reads, with its defaults;
- the Dockerfile's build stage installs only packages the Makefile installs;
- every `depends_on` waits on a condition that the depended-on service can meet;
- nothing public by default: the secrets have no default (compose refuses to start without
  them), .env.example carries none, .env is ignored by git and by the image build;
- Elasticsearch runs with security on, and serve and telemetry log in;
- Kafka takes TLS + SASL only, with ACLs; each bSocial process has its own user, only the
  relay's may write; the broker's key stays in its own volume; kafka-tls makes a certificate
  for the name clients use, signed by the CA they trust;
- serve's and the notifier's healthchecks are readiness (/readyz); bsocial-healthcheck takes
  the path;
- nginx has a fixed address on a fixed subnet, and it is the one proxy serve trusts;
- the compose test names no Debian mirror (it reads the machine's apt sources).
"""
from __future__ import annotations

import copy
import http.server
import ipaddress
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
OVERRIDE = ROOT / "deploy/compose.test.yaml"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merge(base: dict, override: dict) -> dict:
    """Compose's merge for mappings: the override's keys win, recursively."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def without_images(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for svc in doc["services"].values():
        svc.pop("image", None)
    return doc


def test_override_changes_only_image_names():
    base, override = load(COMPOSE), load(OVERRIDE)
    assert set(override) == {"services"}, "the override may only touch services"
    for name, svc in override["services"].items():
        assert name in base["services"], f"the override names an unknown service {name}"
        assert set(svc) == {"image"}, f"the override changes more than {name}'s image: {set(svc)}"
        assert svc["image"] != base["services"][name]["image"]
    merged = merge(base, override)
    assert without_images(merged) == without_images(base)


def test_the_check_above_catches_a_changed_setting():
    base = load(COMPOSE)
    changed = merge(base, {"services": {"kafka": {"image": "x", "environment": {"KAFKA_NODE_ID": 2}}}})
    assert without_images(changed) != without_images(base)


def test_override_swaps_every_infrastructure_image_and_not_the_app():
    base, override = load(COMPOSE), load(OVERRIDE)
    official = {n for n, s in base["services"].items() if "build" not in s}
    assert set(override["services"]) == official


SECRETS = ("BSOCIAL_JWT_SECRET", "POSTGRES_PASSWORD", "ELASTIC_PASSWORD", "KAFKA_ADMIN_PASSWORD",
           "KAFKA_RELAY_PASSWORD", "KAFKA_NOTIFIER_PASSWORD", "KAFKA_TELEMETRY_PASSWORD")


def compose_defaults() -> dict[str, str]:
    return dict(re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", COMPOSE.read_text()))


def compose_required() -> set[str]:
    """The variables compose.yaml reads as ${VAR:?message}: no default, start refused."""
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?[^}]*\}", COMPOSE.read_text()))


def env_example() -> dict[str, str]:
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    return example


def test_env_example_lists_every_variable_with_the_compose_default():
    defaults = compose_defaults()
    assert defaults, "compose.yaml reads no variable?"
    # the secrets are listed with no value: compose.yaml has no default for them
    assert env_example() == {**defaults, **{k: "" for k in compose_required()}}


def test_secrets_have_no_default_and_compose_refuses_to_start_without_them():
    text = COMPOSE.read_text()
    assert compose_required() == set(SECRETS)
    for var in SECRETS:
        # compose's interpolations of var ($$VAR is a literal $VAR for the container's shell)
        uses = re.findall(r"(?<!\$)\$(?:\{" + var + r"\b[^}]*\}|" + var + r"\b)", text)
        assert uses, f"compose.yaml does not use {var}"
        for use in uses:  # never ${VAR:-default}, ${VAR-default} or a bare ${VAR}
            assert use.startswith("${" + var + ":?"), f"{var} used as {use!r}"
            assert ".env.example" in use, f"the message of {use!r} does not say where to look"


def test_env_example_carries_no_secret_and_says_how_to_make_them():
    text = (ROOT / ".env.example").read_text()
    example = env_example()
    for var in SECRETS:
        assert example[var] == "", f".env.example gives {var} a value: it would be public"
    assert "openssl rand" in text
    # the old published development values are gone from every file compose reads
    for path in (COMPOSE, ROOT / ".env.example"):
        assert "dev-only-jwt-secret" not in path.read_text()
        assert "bsocial-dev-password" not in path.read_text()


def test_dotenv_is_ignored_by_git_and_by_the_image_build():
    r = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert r.returncode == 0, ".env (compose's secrets) is not in .gitignore"
    r = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT)
    assert r.returncode == 1, ".env.example must stay tracked"
    assert ".env" in (ROOT / ".dockerignore").read_text().split(), \
        ".env must not reach the image's build context"


def environment(service: str) -> dict:
    return load(COMPOSE)["services"][service]["environment"]  # YAML merge keys resolved


def test_elasticsearch_runs_with_security_on_and_its_clients_log_in():
    es = load(COMPOSE)["services"]["elasticsearch"]
    env = es["environment"]
    assert env["xpack.security.enabled"] == "true"
    assert env["xpack.security.http.ssl.enabled"] == "false"  # http inside the network (docs)
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert "ports" not in es, "Elasticsearch must not be published"
    healthcheck = " ".join(es["healthcheck"]["test"])
    assert '-u "elastic:$$ELASTIC_PASSWORD"' in healthcheck
    for service in ("serve", "telemetry"):
        env = environment(service)
        assert env["BSOCIAL_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        assert env["BSOCIAL_ELASTICSEARCH_USER"] == "elastic"
        assert env["BSOCIAL_ELASTICSEARCH_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    for service in ("migrate", "notifier"):  # no need, no password
        assert "BSOCIAL_ELASTICSEARCH_PASSWORD" not in environment(service)


KAFKA_USERS = {"serve": ("bsocial-relay", "KAFKA_RELAY_PASSWORD"),
               "notifier": ("bsocial-notifier", "KAFKA_NOTIFIER_PASSWORD"),
               "telemetry": ("bsocial-telemetry", "KAFKA_TELEMETRY_PASSWORD")}


def test_kafka_takes_tls_and_sasl_only_with_acls():
    services = load(COMPOSE)["services"]
    env = services["kafka"]["environment"]
    assert "PLAINTEXT" not in env["KAFKA_LISTENERS"] + env["KAFKA_ADVERTISED_LISTENERS"]
    protocols = {p.split(":")[1] for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
    assert protocols == {"SASL_SSL"}, "a listener without TLS + SASL"
    assert env["KAFKA_LISTENERS"].endswith("CONTROLLER://localhost:9093")  # not on the network
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert "ports" not in services["kafka"], "Kafka must not be published"
    jaas = env["KAFKA_LISTENER_NAME_SASL__SSL_PLAIN_SASL_JAAS_CONFIG"]
    for user, secret in KAFKA_USERS.values():
        assert f'user_{user}="${{{secret}:?' in jaas
    # the broker's key: only the broker and the one-shot that makes it see its volume
    holders = {n for n, svc in services.items()
               if any(str(v).startswith("kafka-tls:") for v in svc.get("volumes", []))}
    assert holders == {"kafka", "kafka-tls"}, holders
    healthcheck = " ".join(services["kafka"]["healthcheck"]["test"])
    assert "--command-config" in healthcheck and "$$BSOCIAL_KAFKA_ADMIN_PASSWORD" in healthcheck


def test_each_bsocial_process_has_its_own_kafka_user():
    services = load(COMPOSE)["services"]
    for service, (user, secret) in KAFKA_USERS.items():
        env = environment(service)
        assert env["BSOCIAL_KAFKA_SECURITY_PROTOCOL"] == "sasl_ssl"
        assert env["BSOCIAL_KAFKA_SASL_MECHANISM"] == "PLAIN"
        assert env["BSOCIAL_KAFKA_USER"] == user
        assert env["BSOCIAL_KAFKA_PASSWORD"].startswith("${" + secret + ":?")
        assert "kafka-ca:/etc/bsocial/kafka-ca:ro" in services[service]["volumes"]
        assert env["BSOCIAL_KAFKA_CA_FILE"] == "/etc/bsocial/kafka-ca/ca.crt"
        assert services[service]["depends_on"]["kafka-acls"]["condition"] == \
            "service_completed_successfully"
    assert "BSOCIAL_KAFKA_PASSWORD" not in environment("migrate")


def test_only_the_relay_user_may_write_event_topics():
    script = (ROOT / "deploy/kafka/grant-acls.sh").read_text().replace("\\\n", " ")
    grants = [ln for ln in script.splitlines() if ln.strip().startswith("acls ")]
    assert len(grants) == 4, grants
    for line in grants:
        ops = set(re.findall(r"--operation (\w+)", line))
        if ops & {"Write", "Create", "IdempotentWrite", "Alter", "Delete", "All"}:
            assert "User:bsocial-relay" in line, f"someone else may write: {line}"
    notifier = next(ln for ln in grants if "bsocial-notifier" in ln)
    assert "--topic bsocial.comments" in notifier and "prefixed" not in notifier, notifier


def test_kafka_tls_makes_a_certificate_clients_can_verify(tmp_path):
    tls, ca = tmp_path / "tls", tmp_path / "ca"
    tls.mkdir()
    ca.mkdir()
    env = {"PATH": "/usr/bin:/bin", "TLS_DIR": str(tls), "CA_DIR": str(ca), "KAFKA_UID": str(os.getuid())}
    r = subprocess.run(["bash", str(ROOT / "deploy/kafka/make-tls.sh")], env=env,
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    password = (tls / "keystore_creds").read_text()
    assert (tls / "keystore_creds").stat().st_mode & 0o077 == 0
    # the broker's certificate, out of the keystore, verified against the CA clients get
    pem = subprocess.run(["openssl", "pkcs12", "-in", str(tls / "broker.p12"), "-nokeys",
                          "-clcerts", "-passin", f"pass:{password}"],
                         capture_output=True, text=True, check=True).stdout
    (tmp_path / "broker.crt").write_text(pem)
    for name in ("kafka", "localhost"):
        v = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "ca.crt"), "-verify_hostname",
                            name, str(tmp_path / "broker.crt")], capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr
    v = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "ca.crt"), "-verify_hostname",
                        "elsewhere", str(tmp_path / "broker.crt")], capture_output=True, text=True)
    assert v.returncode != 0, "the certificate is good for any name"
    # a second run keeps what exists (clients keep trusting the same CA)
    before = (ca / "ca.crt").read_text()
    r = subprocess.run(["bash", str(ROOT / "deploy/kafka/make-tls.sh")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "kept" in r.stdout and (ca / "ca.crt").read_text() == before


def test_the_kafka_stand_in_reads_the_keystore_like_the_official_image():
    run = (ROOT / "deploy/test-images/kafka/run").read_text()
    for var in ("KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_SSL_KEYSTORE_CREDENTIALS",
                "KAFKA_SSL_KEY_CREDENTIALS"):
        assert var in run
    assert "/etc/kafka/secrets/" in run
    assert (ROOT / "deploy/test-images/kafka/bin/kafka-acls.sh").exists()


def test_the_elasticsearch_stand_in_reuses_the_stack_proxy():
    stand_in = ROOT / "deploy/test-images/elasticsearch"
    assert "bstacklib/tls_proxy.py" in (stand_in / "Dockerfile").read_text()
    assert "from bstacklib.tls_proxy import" in (stand_in / "security.py").read_text()
    assert "nginx" not in (stand_in / "run").read_text().replace("stack/", "")  # no second proxy


def test_serve_and_notifier_healthchecks_are_readiness():
    services = load(COMPOSE)["services"]
    for service, port in (("serve", "8080"), ("notifier", "8081")):
        assert services[service]["healthcheck"]["test"] == ["CMD", "bsocial-healthcheck", port, "/readyz"]


class _Probe(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_healthcheck_script_asks_for_the_path_it_is_given():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = str(server.server_port)

        def rc(*args: str) -> int:
            return subprocess.run(["bash", str(ROOT / "deploy/healthcheck.sh"), *args],
                                  capture_output=True, timeout=10).returncode
        assert rc(port, "/readyz") == 0
        assert rc(port) == 1  # /healthz by default: this server answers 503 there
        assert rc(port, "/healthz") == 1
        assert rc(port, "readyz") == 2  # not a path
    finally:
        server.shutdown()


def interpolate(value: str) -> str:
    """compose's ${VAR:-default} with nothing set."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def test_nginx_is_the_one_trusted_proxy_on_a_fixed_subnet():
    doc = load(COMPOSE)
    ipam = doc["networks"]["default"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(interpolate(ipam["subnet"]))
    ip_range = ipaddress.ip_network(interpolate(ipam["ip_range"]))
    nginx = ipaddress.ip_address(interpolate(
        doc["services"]["nginx"]["networks"]["default"]["ipv4_address"]))
    trusted = [ipaddress.ip_network(c.strip())
               for c in interpolate(environment("serve")["BSOCIAL_TRUSTED_PROXIES"]).split(",")]
    assert nginx in subnet and nginx not in ip_range, "another container could take nginx's address"
    assert ip_range.subnet_of(subnet)
    assert trusted == [ipaddress.ip_network(f"{nginx}/32")]
    # the gateway (published ports may reach nginx from it) and the other containers are
    # not trusted: their X-Forwarded-For would be believed
    gateway = next(subnet.hosts())
    assert not any(gateway in t for t in trusted)
    assert not any(ip_range.overlaps(t) for t in trusted)
    # every service is on that network: none names another one
    for name, svc in doc["services"].items():
        assert set(svc.get("networks", {"default": None})) == {"default"}, name


def test_compose_test_names_no_debian_mirror():
    text = (ROOT / "tests/compose/compose_test.py").read_text()
    assert not re.search(r"https?://[a-z0-9.-]*debian", text), "a mirror host in the repository"
    assert "/etc/apt/sources.list" in text


def makefile_packages() -> set[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(r"^DEB_PACKAGES\s*:=(.*)$", text, re.M)
    return set(m.group(1).split())


def dockerfile_build_packages() -> set[str]:
    text = (ROOT / "Dockerfile").read_text()
    stage = text[text.index("AS build"):]
    install = stage[stage.index("apt-get install"):].replace("\\\n", " ").split("&&")[0]
    return {w for w in install.split()[1:] if not w.startswith("-") and w != "install"}


def test_dockerfile_builds_with_the_makefile_packages():
    packages = dockerfile_build_packages()
    assert "libboost1.81-dev" in packages and "cmake" in packages
    assert packages - {"ccache"} <= makefile_packages()


@pytest.mark.parametrize("service", sorted(load(COMPOSE)["services"]))
def test_depends_on_conditions_can_be_met(service):
    services = load(COMPOSE)["services"]
    for dep, cond in services[service].get("depends_on", {}).items():
        assert dep in services
        condition = cond["condition"]
        if condition == "service_healthy":
            hc = services[dep].get("healthcheck", {})
            assert hc.get("test") and not hc.get("disable"), f"{dep} has no healthcheck"
        else:
            assert condition == "service_completed_successfully"
            assert services[dep].get("restart") == "no", f"{dep} must be a one-shot service"


def test_nginx_proxies_websockets_to_the_serve_replicas():
    conf = (ROOT / "deploy/nginx/bsocial.conf").read_text()
    assert "server serve:8080" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    services = load(COMPOSE)["services"]
    assert services["serve"]["deploy"]["replicas"]
    assert "./deploy/nginx/bsocial.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def pom_version(component: str, prop: str) -> str:
    m = re.search(rf"<{prop}>([^<]+)</{prop}>", (ROOT / "stack" / component / "pom.xml").read_text())
    return m.group(1)


def test_infrastructure_versions_are_the_ones_our_tests_run():
    services = load(COMPOSE)["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{pom_version('kafka', 'kafka.version')}"
    es = pom_version("elasticsearch", "elasticsearch.version")
    assert services["elasticsearch"]["image"] == f"docker.elastic.co/elasticsearch/elasticsearch:{es}"


def first_run(dockerfile: Path) -> str:
    """The first RUN instruction of a Dockerfile, continuation lines joined."""
    text = re.sub(r"^#.*\n", "", dockerfile.read_text(), flags=re.M).replace("\\\n", " ")
    return next(ln for ln in text.splitlines() if ln.startswith("RUN "))


def test_kafka_and_elasticsearch_test_images_share_their_java_layer():
    # compose_test.py builds kafka first; elasticsearch reuses its first layer only when the
    # two instructions are the same text
    images = ROOT / "deploy/test-images"
    kafka, es = first_run(images / "kafka/Dockerfile"), first_run(images / "elasticsearch/Dockerfile")
    assert "openjdk-17-jre-headless" in kafka
    assert kafka == es


def _copy_sources(dockerfile: Path) -> list[str]:
    """The build-context paths a Dockerfile's COPY lines read (not --from= stages)."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from=") for w in words):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        sources += args[:-1]  # the last one is the destination
    return sources


def test_every_file_the_dockerfile_copies_is_in_the_repository():
    """A COPY of a file that is gone fails the image build at once (a removed
    bench/CMakeLists.txt did): caught here in seconds instead of in make test-compose."""
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, text=True,
                                 capture_output=True).stdout.splitlines())
    sources = _copy_sources(ROOT / "Dockerfile")
    assert sources, "no COPY line found in the Dockerfile"
    missing = [s for s in sources
               if s.rstrip("/") not in tracked
               and not any(t.startswith(s.rstrip("/") + "/") for t in tracked)]
    assert not missing, f"the Dockerfile copies what the repository does not have: {missing}"
