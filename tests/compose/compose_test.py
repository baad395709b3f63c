#!/usr/bin/env python3
"""`make test-compose`: build the images with podman, run compose.yaml (with the image-name
override deploy/compose.test.yaml), check the whole system through nginx, tear it down.

One line per check: `ok   <check> (<seconds>s)` or `FAIL <check>: <why>`; the closing line is
`compose: N passed, N failed`. Exit 0 only when every check passed. The podman settings come
from deploy/podman/containers.conf (CONTAINERS_CONF); /etc is left alone.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import yaml  # make deps installs pyyaml

# bsocial_testkit: a link to tests/pylib/bsocial_testkit beside this script (run outside pytest)
from bsocial_testkit.paths import REPO as ROOT
from bsocial_testkit.stack import bstack  # the jar cache of the local stack

PROJECT = "bsocialtest"
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / "deploy/podman/containers.conf"))
COMPOSE_FILES = ["-f", "compose.yaml", "-f", "deploy/compose.test.yaml"]
# compose.yaml's secrets (no defaults): made at random for this run, in an env file that
# every podman-compose call gets (--env-file, so a .env of the checkout is not read) and
# that is removed at the end. The JWT secret is 48 random bytes (serve wants >= 32).
SECRETS = ("BSOCIAL_JWT_SECRET", "POSTGRES_PASSWORD", "ELASTIC_PASSWORD", "KAFKA_ADMIN_PASSWORD",
           "KAFKA_RELAY_PASSWORD", "KAFKA_NOTIFIER_PASSWORD", "KAFKA_TELEMETRY_PASSWORD")
ENV_FILE = Path("/nonexistent/env")  # write_env_file() makes it
RUN_ENV: dict[str, str] = {}
for _k in SECRETS:  # a secret in the caller's environment would win over the env file
    ENV.pop(_k, None)
PODMAN_COMPOSE = os.environ.get("PODMAN_COMPOSE", "podman-compose")
APP_IMAGE = "localhost/bsocial:latest"  # compose.yaml's default BSOCIAL_IMAGE, bsocial:latest
BASES = {"bookworm": "localhost/debian:bookworm", "trixie": "localhost/debian:trixie"}
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_LOGS = ROOT / "build/compose"  # each image build's output, timed

results: list[tuple[str, bool]] = []


def log(msg: str) -> None:
    print(f"     {msg}", file=sys.stderr, flush=True)


@contextmanager
def check(name: str):
    """One check: prints its line; a failure is recorded and re-raised (later checks need
    the earlier ones)."""
    t0 = time.monotonic()
    try:
        yield
    except Exception as e:  # noqa: BLE001 - reported, then re-raised
        results.append((name, False))
        print(f"FAIL {name}: {e}", flush=True)
        raise
    results.append((name, True))
    print(f"ok   {name} ({time.monotonic() - t0:.1f}s)", flush=True)


def run(cmd: list[str], *, check_rc: bool = True, timeout: float = 900, quiet: bool = True,
        **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, cwd=ROOT, env=ENV, text=True, timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT if quiet else None, **kw)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {p.returncode}:\n{p.stdout[-3000:]}")
    return p


def compose(*args: str, **kw) -> subprocess.CompletedProcess:
    return run([PODMAN_COMPOSE, "--env-file", str(ENV_FILE), "-p", PROJECT, *COMPOSE_FILES, *args], **kw)


def write_env_file(port: int) -> None:
    """The run's settings: random secrets (a new set each run), the free port, BSOCIAL_ADMINS
    (the analytics check). Mode 0600 in a private temp dir."""
    RUN_ENV.update({
        "BSOCIAL_JWT_SECRET": secrets.token_urlsafe(48),
        "POSTGRES_PASSWORD": secrets.token_hex(24),  # goes into a postgresql:// URL
        "ELASTIC_PASSWORD": secrets.token_hex(24),
        # Kafka's SASL users (they go into the broker's JAAS lines: hex)
        "KAFKA_ADMIN_PASSWORD": secrets.token_hex(24),
        "KAFKA_RELAY_PASSWORD": secrets.token_hex(24),
        "KAFKA_NOTIFIER_PASSWORD": secrets.token_hex(24),
        "KAFKA_TELEMETRY_PASSWORD": secrets.token_hex(24),
        "BSOCIAL_HTTP_PORT": str(port),
        "BSOCIAL_ADMINS": "grace",
    })
    global ENV_FILE
    ENV_FILE = Path(tempfile.mkdtemp(prefix="bsocial-compose-env-")) / "env"  # the dir is 0700
    fd = os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in RUN_ENV.items())


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (its sources, read now: no registry host
    is written in the repository): the first `URIs:` of a deb822 stanza in
    /etc/apt/sources.list.d/*.sources for a release suite (not -security/-updates/...),
    else the first such `deb` line of /etc/apt/sources.list(.d/*.list)."""
    found: list[str] = []
    d = Path("/etc/apt/sources.list.d")
    for f in sorted(d.glob("*.sources")) if d.is_dir() else []:
        for stanza in re.split(r"\n\s*\n", f.read_text(errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    fields[m.group(1).lower()] = m.group(2).strip()
            if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
                continue
            if any("-" not in suite for suite in fields.get("suites", "").split()):
                found += [u for u in fields.get("uris", "").split() if u.startswith(("http", "file"))]
    lists = [Path("/etc/apt/sources.list"), *(sorted(d.glob("*.list")) if d.is_dir() else [])]
    for f in lists:
        if f.is_file():
            for line in f.read_text(errors="replace").splitlines():
                m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line.strip())
                if m and "-" not in m.group(2):
                    found.append(m.group(1))
    if not found:
        raise RuntimeError("no Debian mirror in /etc/apt/sources.list.d/*.sources or "
                           "/etc/apt/sources.list: mmdebstrap needs one")
    return found[0].rstrip("/")


def podman(*args: str, **kw) -> subprocess.CompletedProcess:
    return run(["podman", *args], **kw)


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check_rc=False).returncode == 0


# ---------------------------------------------------------------- images

def base_image(release: str) -> None:
    """A Debian minbase image (no registry here), made once, with mmdebstrap: the packages of
    `debootstrap --variant=minbase` (usr-is-merged rather than usrmerge and its perl), faster
    (apt downloads them at once; 28 s against 77 s on a quiet machine), and no apt lists or
    .debs left in it."""
    name = BASES[release]
    if image_exists(name):
        return
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mmdebstrap-{release}-") as d:
        tar = Path(d) / "rootfs.tar"
        run(["mmdebstrap", "--variant=minbase", "--include=usr-is-merged",
             "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
             release, str(tar), debian_mirror()], timeout=900)
        run(["podman", "import", "--change", 'CMD ["/bin/bash"]', str(tar), name])
    log(f"base image {name}: {time.monotonic() - t0:.0f}s")


def build(tag: str, context: Path, jobs: int = 1, **args: str) -> None:
    # Docker's image format, as `docker build` makes: podman's default (OCI) drops HEALTHCHECK.
    cmd = ["podman", "build", "--format", "docker", "--network", "host", "--jobs", str(jobs),
           "-t", tag]
    if CA_BUNDLE.exists():  # a TLS-inspecting proxy's CA, for npm inside the build
        cmd += ["--secret", f"id=ca,src={CA_BUNDLE}"]
    for k, v in args.items():
        cmd += ["--build-arg", f"{k}={v}"]
    t0 = time.monotonic()
    logfile = BUILD_LOGS / (re.sub(r"[^A-Za-z0-9.-]+", "_", tag.removeprefix("localhost/")) + ".log")
    with subprocess.Popen([*cmd, str(context)], cwd=ROOT, env=ENV, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as p, \
            logfile.open("w") as out:
        for line in p.stdout:  # each line stamped with the seconds since the build began
            out.write(f"{time.monotonic() - t0:7.1f} {line}")
    if p.returncode != 0:
        raise RuntimeError(f"podman build of {tag} exited {p.returncode}; its output: {logfile}")
    log(f"image {tag}: {time.monotonic() - t0:.0f}s (output: {logfile.relative_to(ROOT)})")


def in_parallel(*jobs) -> None:
    """Runs each job (a function of no argument) in its own thread; raises the first error."""
    errors: list[BaseException] = []

    def guarded(job) -> None:
        try:
            job()
        except BaseException as e:  # noqa: BLE001 - handed to the caller below
            errors.append(e)
    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def infra_context(name: str, component: str | None) -> Path:
    """deploy/test-images/<name>/ plus, for a Java server, the jar cache of stack/
    (lib/ and classes/), in a temporary build context."""
    ctx = Path(tempfile.mkdtemp(prefix=f"bsocial-ctx-{name}-"))
    shutil.copytree(ROOT / "deploy/test-images" / name, ctx, dirs_exist_ok=True)
    if name == "elasticsearch":  # its security is stack/'s basic-auth proxy (tls_proxy.py)
        shutil.copytree(ROOT / "stack/bstacklib", ctx / "bstacklib",
                        ignore=shutil.ignore_patterns("__pycache__"))
    if component:
        cdir = bstack.fetch(component)
        for sub in ("lib", "classes"):
            if (cdir / sub).is_dir():
                shutil.copytree(cdir / sub, ctx / sub, copy_function=os.link)
    return ctx


def es_component() -> str:
    """The Elasticsearch-API node stack/ runs: its Elasticsearch 8 node when stack/ has one,
    else OpenSearch (same REST subset for bsocial)."""
    return "elasticsearch" if "elasticsearch" in bstack.COMPONENTS else "opensearch"


# (directory under deploy/test-images, tag, stack/ component whose jars go in): kafka then
# elasticsearch, whose first layer (the JRE) is kafka's.
TEST_IMAGES = [
    ("kafka", "localhost/bsocial-test-kafka:4.1.2", "kafka"),
    ("elasticsearch", "localhost/bsocial-test-elasticsearch:latest", es_component()),
    ("postgres", "localhost/bsocial-test-postgres:15", None),
    ("nginx", "localhost/bsocial-test-nginx:latest", None),
]


def build_images() -> None:
    """The critical path is the app image (its release compile); the rest runs beside it.
    Both bases at once (downloads and dpkg, little CPU); then the app image, its `web` and
    `build` stages at once (--jobs 2), beside the four test images, one after the other so
    that elasticsearch reuses kafka's Java layer."""
    BUILD_LOGS.mkdir(parents=True, exist_ok=True)
    in_parallel(lambda: base_image("bookworm"), lambda: base_image("trixie"))
    base = {"BASE_IMAGE": BASES["bookworm"]}

    def app() -> None:
        build(APP_IMAGE, ROOT, jobs=2, **base, WEB_BASE_IMAGE=BASES["trixie"])

    def test_images() -> None:
        for name, tag, component in TEST_IMAGES:
            ctx = infra_context(name, component)
            try:
                build(tag, ctx, **base)
            finally:
                shutil.rmtree(ctx, ignore_errors=True)
    in_parallel(app, test_images)


def image_size_mb(name: str) -> float:
    out = podman("image", "inspect", "--format", "{{.Size}}", name).stdout.strip()
    return int(out) / 1e6


# ---------------------------------------------------------------- the running stack

def containers() -> list[dict]:
    out = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}",
                 "--format", "json").stdout
    return json.loads(out or "[]")


def container(service: str, n: int = 1) -> str:
    return f"{PROJECT}_{service}_{n}"


class HealthcheckRunner(threading.Thread):
    """podman runs healthchecks from systemd timers; there is no systemd here, so this
    thread runs each container's own (compose-defined) healthcheck every 2 s, which is what
    lets `depends_on: condition: service_healthy` work."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(2):
            for c in containers():
                if c.get("State") == "running":
                    run(["podman", "healthcheck", "run", c["Names"][0]], check_rc=False, timeout=60)


def service_containers(service: str) -> list[str]:
    return [c["Names"][0] for c in containers() if c.get("Labels", {}).get("com.docker.compose.service") == service]


def up_in_dependency_order() -> None:
    """`up -d` service by service in the order of compose.yaml's depends_on, each waited for
    as its dependents ask: healthy (its healthcheck passes), completed (exit 0) or started.
    podman-compose does this itself only with podman >= 4.6; this machine has 4.3."""
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    wanted: dict[str, str] = {name: "service_started" for name in services}
    for svc in services.values():
        for dep, cond in svc.get("depends_on", {}).items():
            if wanted[dep] == "service_started":
                wanted[dep] = cond["condition"]
    started: set[str] = set()
    while len(started) < len(services):
        layer = [n for n, s in services.items()
                 if n not in started and set(s.get("depends_on", {})) <= started]
        if not layer:
            raise RuntimeError(f"depends_on has a cycle among {set(services) - started}")
        compose("up", "-d", "--no-deps", *layer, timeout=600)
        for name in layer:
            wait_for(f"{name}: {wanted[name]}", lambda n=name: condition_met(n, wanted[n]),
                     timeout=300)
        log(f"up: {', '.join(layer)}")
        started |= set(layer)


def condition_met(service: str, condition: str) -> bool:
    names = service_containers(service)
    states = [health(n).split() for n in names]
    if not states:
        return False
    if condition == "service_completed_successfully":
        if any(st[0] == "exited" and st[-1] != "0" for st in states):
            raise RuntimeError(f"{service} failed: {states}")
        return all(st[0] == "exited" for st in states)
    if condition == "service_healthy":
        return all(st[:2] == ["running", "healthy"] for st in states)
    return all(st[0] == "running" for st in states)


def health(name: str) -> str:
    p = podman("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}} {{.State.ExitCode}}",
               name, check_rc=False)
    return p.stdout.strip()


def wait_for(what: str, pred, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(1)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- HTTP through nginx

class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.connection_retries = 0

    def call(self, method: str, path: str, body=None, token: str | None = None,
             expect: tuple[int, ...] = (200,), headers: dict[str, str] | None = None
             ) -> tuple[int, dict | None]:
        """One request. Retried only when the connection to nginx could not be made or the
        request not sent (urllib's URLError); a response, any status, 5xx included, is final,
        and so is a connection lost while waiting for it (the write may have happened)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(headers or {})
        if data:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in range(5):
            req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, raw = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, e.read()
            except urllib.error.URLError as e:
                self.connection_retries += 1
                log(f"connection error on {method} {path} ({e}); retrying")
                time.sleep(0.5 * (attempt + 1))
                continue
            doc = json.loads(raw) if raw.strip().startswith(b"{") else None
            if status not in expect:
                raise RuntimeError(f"{method} {path}: HTTP {status} {raw[:300]!r}")
            return status, doc
        raise RuntimeError(f"{method} {path}: no answer after 5 connection errors")


def nginx_access_log() -> list[str]:
    out = podman("logs", container("nginx"), check_rc=False).stdout
    return [ln for ln in out.splitlines() if "upstream=" in ln]


def upstream_field(line: str) -> str:
    """nginx's $upstream_addr: "10.89.0.7:8080", or "A, B" when A failed and B answered."""
    m = re.search(r"upstream=(.*?) upstream_status=", line)
    return m.group(1) if m else "-"


def upstreams(lines: list[str]) -> set[str]:
    """The replicas nginx got an answer from (the last address of each line)."""
    return {upstream_field(ln).split(", ")[-1] for ln in lines if upstream_field(ln) != "-"}


def replica_views(token: str, marker: str) -> str:
    """What each running API replica answers itself (not through nginx) for the token's
    feed: how many posts holding `marker` it shows, and its feed cache's metrics. Logged
    when a check through nginx finds a feed wrong, to tell which replica is."""
    lines = []
    for name in service_containers("serve"):
        ips = podman("inspect", "--format",
                     "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name,
                     check_rc=False).stdout.split()
        if not ips:
            lines.append(f"{name}: not running")
            continue
        direct = Api(f"http://{ips[0]}:8080")
        try:
            status, feed = direct.call("GET", "/api/v1/feed?limit=100", token=token,
                                       expect=(200,))
            items = (feed or {}).get("items", [])
            lines.append(f"{name} ({ips[0]}): feed {status}, {len(items)} posts, "
                         f"{sum(1 for p in items if marker in p.get('content', ''))} with "
                         f"{marker!r}")
            with urllib.request.urlopen(direct.base + "/metrics", timeout=5) as r:
                lines += [f"  {ln}" for ln in r.read().decode().splitlines()
                          if ln.startswith(("bsocial_feed_cache", "bsocial_feed_warm"))]
        except Exception as e:  # noqa: BLE001 - a diagnostic
            lines.append(f"{name} ({ips[0]}): {e!r}")
    return "\n".join(lines)


def register(api: Api, first: str, last: str, username: str, password: str) -> str:
    api.call("POST", "/api/v1/users", {
        "first_name": first, "last_name": last, "username": username,
        "email": f"{username}@example.com", "password": password,
        "password_confirmation": password}, expect=(201,))
    _, doc = api.call("POST", "/api/v1/sessions", {"login": username, "password": password},
                      expect=(200, 201))
    return doc["token"]


# ---------------------------------------------------------------- the test

def main() -> int:
    t_start = time.monotonic()
    port = free_port()
    write_env_file(port)
    for k in RUN_ENV:  # the caller's environment would win over the env file
        ENV.pop(k, None)
    api = Api(f"http://127.0.0.1:{port}")
    runner = HealthcheckRunner()
    try:
        with check("images built (app, postgres, kafka, elasticsearch, nginx)"):
            build_images()
        sizes = {n: image_size_mb(n) for n in [APP_IMAGE, *(tag for _, tag, _ in TEST_IMAGES)]}
        log("image sizes: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in sizes.items()))

        with check("app image: runs as a non-root user, all shared libraries found, has its HEALTHCHECK"):
            uid = podman("run", "--rm", "--entrypoint", "id", APP_IMAGE, "-u").stdout.strip()
            if uid == "0":
                raise RuntimeError("the image runs as root")
            healthcheck = podman("image", "inspect", "--format", "{{json .HealthCheck}}",
                                 APP_IMAGE).stdout
            if "bsocial-healthcheck" not in healthcheck:
                raise RuntimeError(f"the image has no HEALTHCHECK: {healthcheck.strip()}")
            out = podman("run", "--rm", "--entrypoint", "ldd", APP_IMAGE,
                         "/usr/local/bin/bsocial").stdout
            if "not found" in out:
                raise RuntimeError(out)

        with check("podman-compose config: the test's file = compose.yaml but for image names"):
            users = yaml.safe_load(run([PODMAN_COMPOSE, "--env-file", str(ENV_FILE),
                                        "-f", "compose.yaml", "config"], quiet=False).stdout)
            ours = yaml.safe_load(compose("config", quiet=False).stdout)
            swapped = sorted(n for n in users["services"]
                             if users["services"][n].get("image") != ours["services"][n].get("image"))
            for doc in (users, ours):
                for svc in doc["services"].values():
                    svc.pop("image", None)
            if users != ours or swapped != ["elasticsearch", "kafka", "kafka-acls", "kafka-tls",
                                            "nginx", "postgres"]:
                raise RuntimeError(f"the merged files differ beyond the images {swapped}")

        with check("compose.yaml refuses to start without each secret (JWT, PostgreSQL, "
                   "Elasticsearch, Kafka's four users)"):
            refuses_without_secrets()

        compose("down", "-v", check_rc=False)  # a previous run's leftovers
        runner.start()
        with check("compose up: infrastructure healthy, migrate done, 2 serve + notifier + telemetry + nginx"):
            up_in_dependency_order()
            replicas = service_containers("serve")
            if len(replicas) != 2:
                raise RuntimeError(f"serve replicas: {replicas}")
            for n in ("telemetry", "notifier", "nginx"):
                if not condition_met(n, "service_started"):
                    raise RuntimeError(f"{n} is not running")
            wait_for("nginx on the published port", lambda: _healthz(api), timeout=60)
            for name in [*replicas, *service_containers("notifier")]:
                hc = podman("inspect", "--format", "{{json .Config.Healthcheck.Test}}", name).stdout
                if "/readyz" not in hc:
                    raise RuntimeError(f"{name}'s healthcheck is not readiness: {hc.strip()}")
            nginx_ip = podman("inspect", "--format",
                              "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                              container("nginx")).stdout.split()
            trusted = podman("exec", replicas[0], "printenv", "BSOCIAL_TRUSTED_PROXIES").stdout.strip()
            if [f"{ip}/32" for ip in nginx_ip] != [trusted]:
                raise RuntimeError(f"nginx is at {nginx_ip}, serve trusts {trusted!r}")
            log(f"nginx at {nginx_ip[0]} = serve's BSOCIAL_TRUSTED_PROXIES {trusted}")
        journey(api)
        # The browser's check does not stop the last one (they test different things).
        try:
            browser_journey(api)
        except Exception:  # noqa: BLE001 - reported by its check
            pass
        client_addresses(api)
    except Exception:  # noqa: BLE001 - already reported by its check
        for c in containers():
            if c.get("State") != "running" or os.environ.get("COMPOSE_TEST_LOGS"):
                name = c["Names"][0]
                log(f"--- logs of {name} ({c.get('State')}):\n"
                    + podman("logs", "--tail", "30", name, check_rc=False).stdout)
    finally:
        runner.stop.set()
        teardown()
        if ENV_FILE.parent.name.startswith("bsocial-compose-env-"):  # the run's secrets
            shutil.rmtree(ENV_FILE.parent, ignore_errors=True)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"compose: took {time.monotonic() - t_start:.0f}s", flush=True)
    print(f"compose: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


def _healthz(api: Api) -> bool:
    try:
        with urllib.request.urlopen(api.base + "/healthz", timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def journey(api: Api) -> None:
    from websockets.sync.client import connect  # make deps installs websockets

    with check("README walk-through through nginx: register, log in, follow, post, feed, comment"):
        # (ada and charles are the browser's, below)
        ada = register(api, "Grace", "Hopper", "grace", "compiler of compilers")
        charles = register(api, "Alan", "Turing", "alan", "universal machine")
        api.call("PUT", "/api/v1/users/me/following/alan", token=ada, expect=(200, 204))
        _, doc = api.call("POST", "/api/v1/posts", {"content": "The engine runs."}, token=charles,
                          expect=(201,))
        post_id = doc["post"]["id"]
        # Through nginx the follow, the post and the read may each meet another replica: a
        # replica that did not make a change hears of it over the cluster bus, a NOTIFY round
        # trip later (docs/feed.md); waited for (2 s at most), the lag logged.
        started, feed = time.monotonic(), {}
        while time.monotonic() - started < 2:
            _, feed = api.call("GET", "/api/v1/feed?limit=10", token=ada)
            if post_id in json.dumps(feed):
                break
            time.sleep(0.005)
        if post_id not in json.dumps(feed):
            raise RuntimeError(f"the post is not in Ada's feed within 2 s: {feed}")
        log(f"the post in Ada's feed {1000 * (time.monotonic() - started):.0f} ms after its 201")

    with check("notification over a WebSocket through nginx"):
        ws_url = api.base.replace("http://", "ws://") + "/api/v1/notifications/stream"
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {charles}"},
                     open_timeout=10) as ws:
            _, doc = api.call("POST", f"/api/v1/posts/{post_id}/comments", {"content": "Splendid!"},
                              token=ada, expect=(201,))
            comment_id = doc["comment"]["id"] if "comment" in doc else doc["id"]
            end = time.monotonic() + 30
            while True:
                msg = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
                if msg.get("type") == "notification" and msg["notification"]["comment_id"] == comment_id:
                    ws.send(json.dumps({"type": "ack", "id": msg["notification"]["id"]}))
                    break
        _, comments = api.call("GET", f"/api/v1/posts/{post_id}/comments", token=charles)
        if comment_id not in json.dumps(comments):
            raise RuntimeError("the comment is not listed")

    with check("one API replica killed mid-way: the other serves every write (0 failed)"):
        before = upstreams(nginx_access_log())
        if len(before) != 2:
            raise RuntimeError(f"nginx sent the requests so far to {before}, not to 2 replicas")
        lines_before = len(nginx_access_log())
        podman("kill", "--signal", "KILL", container("serve", 1))
        writes = 0
        for i in range(20):  # each a write that must succeed through nginx
            api.call("POST", "/api/v1/posts", {"content": f"after the kill {i}"}, token=charles,
                     expect=(201,))
            api.call("POST", f"/api/v1/posts/{post_id}/comments", {"content": f"still here {i}"},
                     token=ada, expect=(201,))
            writes += 2
        # The survivor wrote them itself: its answer is exact at once, unless the killed
        # replica took a message with it (committed, not yet sent); then the survivor
        # forgets its caches once it sees the killed one's bus gone, within ~1 s
        # (store/cluster_bus.hpp). Waited for, 3 s at most, and logged.
        started = time.monotonic()
        while True:
            _, feed = api.call("GET", "/api/v1/feed?limit=100", token=ada)
            seen = sum(1 for i in range(20) if f"after the kill {i}" in json.dumps(feed))
            if seen == 20 or time.monotonic() - started > 3:
                break
            time.sleep(0.05)
        if seen == 20 and time.monotonic() - started > 0.05:
            log(f"the 20 posts in the survivor's feed {time.monotonic() - started:.2f} s after "
                "the last write (a message lost with the killed replica)")
        if seen != 20:
            log(replica_views(ada, "after the kill"))
            raise RuntimeError(f"{seen} of the 20 posts written after the kill are in the feed")
        after = nginx_access_log()[lines_before:]
        failovers = [ln for ln in after if ", " in upstream_field(ln)]
        if not failovers:
            raise RuntimeError("no request after the kill met the dead replica: nothing was tested")
        log(f"{writes} writes after the kill, 0 failed, {api.connection_retries} client retries "
            f"on connection errors; nginx: {len(before)} replicas before the kill, "
            f"{len(failovers)} request(s) passed on from the dead one, e.g. {failovers[0].strip()}")

    with check("events reached Kafka (bsocial.posts, bsocial.comments)"):
        def consumed(topic: str, n: int) -> str:
            # as the admin over TLS + SASL: kafka's healthcheck, which passed, wrote its
            # client settings to /tmp/admin.properties
            return podman("exec", container("kafka"), "/opt/kafka/bin/kafka-console-consumer.sh",
                          "--bootstrap-server", "localhost:9092", "--topic", topic,
                          "--consumer.config", "/tmp/admin.properties",
                          "--from-beginning", "--max-messages", str(n), "--timeout-ms", "20000",
                          check_rc=False, timeout=120).stdout

        def on_kafka() -> bool:
            # a console consumer on a loaded machine may give up before its group is ready:
            # try again rather than fail on a slow tool
            posts = consumed("bsocial.posts", 21)
            if post_id not in posts or posts.count("after the kill") != 20:
                log(f"bsocial.posts not complete yet: {posts[-300:]!r}")
                return False
            return comment_id in consumed("bsocial.comments", 21)
        wait_for("the post and comment events on Kafka", on_kafka, timeout=240)

    with check("Elasticsearch has security on: no or a wrong password is 401, from its own and "
               "from another container"):
        es_security()

    with check("events reached Elasticsearch (bsocial-events: the post and its 21 comments)"):
        def count() -> int:
            out = podman("exec", container("elasticsearch"), "curl", "-s",
                         "-u", f"elastic:{RUN_ENV['ELASTIC_PASSWORD']}",
                         f"http://localhost:9200/bsocial-events/_count?q=post_id:{post_id}",
                         check_rc=False).stdout
            try:
                return json.loads(out).get("count", 0)
            except ValueError:
                return 0
        wait_for("22 events of the post in Elasticsearch", lambda: count() >= 22, timeout=60)

    with check("serve logs in to Elasticsearch: an administrator's analytics through nginx"):
        # grace registered after the start: BSOCIAL_ADMINS granted her nothing (issue 24,
        # item 1); the operator's command does, and every replica sees it within 2 s.
        # On the replica still running (the first was killed above).
        out = podman("exec", container("serve", 2), "bsocial", "admin", "grant", "grace").stdout
        log(f"bsocial admin grant grace: {out.strip()}")
        wait_for("grace seen as an administrator by the replica nginx picks",
                 lambda: api.call("GET", "/api/v1/users/me", token=ada)[1].get("is_admin") is True,
                 timeout=15)
        time.sleep(2.5)  # the other replica's view of the roles is at most 2 s old
        _, doc = api.call("GET", "/api/v1/analytics/logins?days=1", token=ada)
        log(f"GET /api/v1/analytics/logins?days=1 (grace, bsocial admin grant): 200 {json.dumps(doc)[:160]}")

    with check("notifications claimed exactly once; log out kills the token"):
        claimed: list[str] = []  # the notifier may still be storing the last ones
        end = time.monotonic() + 60
        while len(claimed) < 20 and time.monotonic() < end:
            _, doc = api.call("POST", "/api/v1/notifications/claim", token=charles)
            claimed += [n["comment_id"] for n in doc["items"]]
            time.sleep(0.5)
        _, again = api.call("POST", "/api/v1/notifications/claim", token=charles)
        if len(claimed) != 20 or len(set(claimed)) != 20 or again["items"]:
            raise RuntimeError(f"claimed {len(claimed)} ({len(set(claimed))} distinct), then "
                               f"{len(again['items'])} (want the 20 comments after the kill, then none)")
        api.call("DELETE", "/api/v1/sessions/current", token=ada, expect=(204,))
        api.call("GET", "/api/v1/feed", token=ada, expect=(401,))


def refuses_without_secrets() -> None:
    """compose.yaml with each secret empty in turn (as in a copied .env.example): podman-compose
    refuses the file, naming the variable (compose.yaml's ${VAR:?message})."""
    for missing in SECRETS:
        env_file = ENV_FILE.parent / f"without-{missing}"
        env_file.write_text("".join(f"{k}={'' if k == missing else v}\n" for k, v in RUN_ENV.items()))
        p = run([PODMAN_COMPOSE, "--env-file", str(env_file), "-f", "compose.yaml", "config"],
                check_rc=False)
        env_file.unlink()
        said = [ln for ln in p.stdout.splitlines() if missing in ln]
        if p.returncode == 0 or not said or ".env.example" not in said[-1]:
            raise RuntimeError(f"with {missing} empty: exit {p.returncode}, {p.stdout[-500:]!r}")
        log(f"{missing} empty: refused ({said[-1].strip()[:140]})")


def es_security() -> None:
    """curl's HTTP status for GET / of Elasticsearch, from its own container (localhost:9200)
    and from the kafka container (elasticsearch:9200, across the compose network)."""
    password = RUN_ENV["ELASTIC_PASSWORD"]
    seen = {}
    for where, url in (("elasticsearch", "http://localhost:9200/"),
                       ("kafka", "http://elasticsearch:9200/")):
        for login, want in ((None, "401"), ("elastic:wrong-password", "401"),
                            (f"elastic:{password}", "200")):
            auth = ["-u", login] if login else []
            for _ in range(10):  # 000: no connection (the podman network), not an answer
                code = podman("exec", container(where), "curl", "-s", "-o", "/dev/null", "-w",
                              "%{http_code}", *auth, url, check_rc=False).stdout.strip()
                if code != "000":
                    break
                time.sleep(1)
            label = "no password" if not login else "the password" if login.endswith(password) else "a wrong one"
            seen[f"{where}, {label}"] = code
            if code != want:
                raise RuntimeError(f"GET {url} in {where} with {label}: HTTP {code}, want {want}")
    log("Elasticsearch: " + "; ".join(f"{k} {v}" for k, v in seen.items()))


def browser_journey(api: Api) -> None:
    """tests/web/journey.mjs (Chromium through playwright-core, as `make test` runs it
    against one server) against nginx's published port: register, log in, follow, post,
    comment, the live notification in a second browser context, log out."""
    node = shutil.which("node")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    shots = BUILD_LOGS / "screenshots"
    with check("the web app in Chromium through nginx (tests/web/journey.mjs): register, log in, "
               "follow, post, comment, live notification, log out"):
        if not node or not os.access(chromium, os.X_OK) or not (
                ROOT / "web/node_modules/playwright-core/package.json").is_file():
            raise RuntimeError("needs node, /usr/bin/chromium and web/node_modules "
                               "(npm ci --prefix web; `make test-compose` runs it)")
        shutil.rmtree(shots, ignore_errors=True)
        env = dict(os.environ, BSOCIAL_WEB_URL=api.base, BSOCIAL_SCREENSHOT_DIR=str(shots),
                   BSOCIAL_LOGIN_MAX_FAILURES="5",  # serve's default; compose.yaml keeps it
                   CHROMIUM=chromium)
        t0 = time.monotonic()
        try:
            p = subprocess.run([node, str(ROOT / "tests/web/journey.mjs")], cwd=ROOT, env=env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=300)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"the journey took over 300 s:\n{(e.stdout or '')[-3000:]}") from None
        steps = [ln for ln in p.stdout.splitlines() if re.match(r"^\[\s*[\d.]+s\]", ln)
                 and "screenshot" not in ln]
        for ln in steps:
            log(f"browser {ln}")
        if p.returncode != 0:
            rejected = [ln for ln in nginx_access_log()[-400:] if '" 403 ' in ln]
            raise RuntimeError(
                f"journey.mjs exited {p.returncode} after {time.monotonic() - t0:.0f}s "
                f"(screenshots: {shots.relative_to(ROOT)}):\n{p.stdout[-2500:]}"
                + (f"\nnginx: {len(rejected)} request(s) answered 403, the last: "
                   f"{rejected[-1].strip()}" if rejected else "")
                + f"\na browser's write through nginx (session cookie, Origin {api.base}): "
                + browser_like_write(api))
        log(f"the browser journey through nginx took {time.monotonic() - t0:.1f}s")


def browser_like_write(api: Api) -> str:
    """A write as the web app makes it: the session cookie of a login, and the Origin header
    of the page (the nginx URL); serve's answer, for the failure message."""
    def send(path: str, body: dict, headers: dict[str, str]):
        req = urllib.request.Request(api.base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Origin": api.base, **headers})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()
    try:
        status, headers, _ = send("/api/v1/sessions", {"login": "grace", "password": "compiler of compilers"}, {})
        cookies = "; ".join(c.split(";")[0] for c in headers.get_all("Set-Cookie") or [])
        status, _, body = send("/api/v1/posts", {"content": "a browser-like write"}, {"Cookie": cookies})
        return f"HTTP {status} {body[:200].decode(errors='replace')}"
    except (urllib.error.URLError, OSError) as e:
        return f"no answer ({e})"


def client_addresses(api: Api) -> None:
    """BSOCIAL_TRUSTED_PROXIES = nginx: the registration limit (20 at once per client) counts
    each client behind nginx apart. Client A (this machine, through the published port)
    forges a new X-Forwarded-For on each registration and still meets the limit (nginx
    appends the address it saw; serve takes the right-most address it does not trust);
    client B (the kafka container, through nginx:8080 on the compose network) registers
    right after: 201. Without the trusted proxy both are nginx's address: B gets 429."""
    with check("serve tells clients behind nginx apart (X-Forwarded-For from nginx only): "
               "a forged header does not escape the limit, another client is not limited"):
        statuses = []
        FLOOD_PASSWORD = secrets.token_urlsafe(12)  # noqa: N806 - not a common password
        for i in range(40):
            status, _ = api.call("POST", "/api/v1/users", {
                "first_name": "Flood", "last_name": f"N{i}", "username": f"flood{i}",
                "email": f"flood{i}@example.com", "password": FLOOD_PASSWORD,
                "password_confirmation": FLOOD_PASSWORD},
                expect=(201, 429), headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
            statuses.append(status)
            if status == 429:
                break
        if statuses[-1] != 429:
            raise RuntimeError(f"{len(statuses)} registrations with forged X-Forwarded-For "
                               f"headers, none limited: serve trusts what clients send")
        body = json.dumps({"first_name": "Other", "last_name": "Client", "username": "otherclient",
                           "email": "otherclient@example.com", "password": FLOOD_PASSWORD,
                           "password_confirmation": FLOOD_PASSWORD})
        out = podman("exec", container("kafka"), "curl", "-s", "-o", "/dev/null", "-w",
                     "%{http_code}", "-H", "Content-Type: application/json", "--data", body,
                     "http://nginx:8080/api/v1/users", check_rc=False).stdout.strip()
        if out != "201":
            raise RuntimeError(f"client B's first registration through nginx: HTTP {out} (want 201) "
                               f"after client A's {len(statuses) - 1} and its 429: serve counts "
                               f"every client behind nginx as one address")
        log(f"client A: {len(statuses) - 1} registrations then 429 (forged X-Forwarded-For "
            f"each time); client B (another container): 201")


def teardown() -> None:
    with check("compose down -v: no container, network or volume left"):
        compose("down", "-v", "-t", "5", check_rc=False, timeout=300)
        left = [c["Names"][0] for c in containers()]
        nets = [n for n in podman("network", "ls", "--format", "{{.Name}}").stdout.split()
                if n.startswith(PROJECT)]
        vols = [v for v in podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
                if v.startswith(PROJECT)]
        for c in left:
            podman("rm", "-f", c, check_rc=False)
        for n in nets:
            podman("network", "rm", "-f", n, check_rc=False)
        for v in vols:
            podman("volume", "rm", "-f", v, check_rc=False)
        if left or nets or vols:
            raise RuntimeError(f"left behind (now removed): {left} {nets} {vols}")


if __name__ == "__main__":
    sys.exit(main())
