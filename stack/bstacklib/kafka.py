"""Apache Kafka in KRaft mode: 1 or 3 combined broker+controller JVMs, the bsocial.* topics
created (and their leaders awaited) by the TopicSetup helper.

security="sasl_ssl": the client listener is SASL_SSL (TLS with a CA and broker certificate
made here with openssl, SCRAM-SHA-512 users created at format time), brokers talk to each
other over it as the super user `admin`, the StandardAuthorizer enforces ACLs (nothing is
allowed without one): the relay's user writes the bsocial.* topics, the notifier's user
reads bsocial.comments in its group, telemetry's user reads bsocial.* in its group. The
controller listener is SASL_SSL too (PLAIN, the admin only): nothing listens in clear.
Users, passwords and the CA file: credentials()."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from .common import (STOP_TIMEOUT, StackError, free_ports, pid_alive, port_is_free, spawn, tail,
                     terminate)
from .java import COMPONENTS, classpath, fetch, java_tool
from .server import Server
from .tls_proxy import _openssl, make_tls

TOPICS = ("bsocial.users", "bsocial.posts", "bsocial.comments", "bsocial.follows")
TOPIC_PARTITIONS = 3
CONVENTIONAL_PORT = 9092  # broker i (1-based): 9092 + 2*(i-1); its controller: +1
KAFKA_HEAP = "512m"
KAFKA_READY_TIMEOUT = 180
SECURITY = ("plaintext", "sasl_ssl")
SASL_MECHANISM = "SCRAM-SHA-512"  # the users' stored credentials; brokers among themselves
# What librdkafka clients use: librdkafka before 2.6.1 (Debian bookworm ships 2.0.2) builds a
# SCRAM final message that Kafka 4.x refuses as "invalid credentials" (a nonce bug,
# confluentinc/librdkafka#4895), so the listener also takes PLAIN (only ever over TLS here),
# with the same users and passwords. Java clients (admin) use SCRAM.
CLIENT_MECHANISM = "PLAIN"
ADMIN_USER = "admin"
# role -> (user, ACLs "resourceType patternType name operation"): what each bSocial client
# may do, nothing more.
CLIENT_USERS = {
    "relay": ("bsocial-relay", ["TOPIC PREFIXED bsocial. WRITE",
                                "TOPIC PREFIXED bsocial. DESCRIBE",
                                "CLUSTER LITERAL kafka-cluster IDEMPOTENT_WRITE"]),
    "notifier": ("bsocial-notifier", ["TOPIC LITERAL bsocial.comments READ",
                                      "GROUP LITERAL bsocial-notifier READ"]),
    "telemetry": ("bsocial-telemetry", ["TOPIC PREFIXED bsocial. READ",
                                        "GROUP LITERAL bsocial-telemetry READ"]),
}


def _kafka_uuid() -> str:
    """A Kafka cluster id (base64url of 16 random bytes, like `kafka-storage random-uuid`,
    which also avoids ids starting with '-')."""
    while True:
        u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not u.startswith("-"):
            return u


class Kafka(Server):
    name = "kafka"
    title = "Kafka"
    env_var = "BSOCIAL_TEST_KAFKA"
    default_on = True
    java = "kafka"

    def _layout(self, i: int) -> dict[str, Path]:
        b = self.home / f"broker-{i}"
        logs = self.home / "logs"
        return {"dir": b, "props": b / "server.properties", "data": b / "data",
                "log": logs / f"broker-{i}.log", "out": logs / f"broker-{i}.out"}

    def _security_props(self, st: dict) -> list[str]:
        if st.get("security", "plaintext") == "plaintext":
            return ["inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"]
        tls = self.home / "tls"
        admin = st["users"][ADMIN_USER]
        plain_users = " ".join(f'user_{u}="{p}"' for u, p in st["users"].items())
        return [
            "inter.broker.listener.name=SASL_SSL",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL",
            # brokers reach the controllers as the admin too (PLAIN: KRaft controllers cannot
            # use SCRAM, whose credentials live in the metadata they serve)
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "listener.name.controller.plain.sasl.jaas.config="
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{ADMIN_USER}" password="{admin}" user_{ADMIN_USER}="{admin}";',
            f"sasl.enabled.mechanisms={SASL_MECHANISM},{CLIENT_MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={SASL_MECHANISM}",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{admin}";',
            # PLAIN for librdkafka < 2.6.1 (see CLIENT_MECHANISM): the same users and passwords.
            "listener.name.sasl_ssl.plain.sasl.jaas.config="
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{ADMIN_USER}" password="{admin}" {plain_users};',
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={tls / 'broker.p12'}",
            f"ssl.keystore.password={st['keystore_password']}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls / 'ca.crt'}",
            "ssl.client.auth=none",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            f"super.users=User:{ADMIN_USER}",
            "allow.everyone.if.no.acl.found=false",
        ]

    def _props(self, i: int, st: dict) -> str:
        n = st["brokers"]
        ports, cports = st["ports"], st["controller_ports"]
        lay = self._layout(i)
        voters = ",".join(f"{j + 1}@127.0.0.1:{cports[j]}" for j in range(n))
        min_isr = 2 if n >= 3 else 1
        client = "PLAINTEXT" if st.get("security", "plaintext") == "plaintext" else "SASL_SSL"
        return "\n".join([
            "# generated by stack/bstack.py; edits are overwritten on start",
            "process.roles=broker,controller",
            f"node.id={i}",
            f"controller.quorum.voters={voters}",
            f"listeners={client}://127.0.0.1:{ports[i - 1]},CONTROLLER://127.0.0.1:{cports[i - 1]}",
            f"advertised.listeners={client}://127.0.0.1:{ports[i - 1]}",
            "controller.listener.names=CONTROLLER",
            *self._security_props(st),
            f"log.dirs={lay['data']}",
            f"num.partitions={TOPIC_PARTITIONS}",
            f"default.replication.factor={n}",
            f"min.insync.replicas={min_isr}",
            f"offsets.topic.replication.factor={n}",
            "offsets.topic.num.partitions=1",
            f"transaction.state.log.replication.factor={n}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={n}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            "group.initial.rebalance.delay.ms=0",
            "num.network.threads=2",
            "num.io.threads=4",
            "num.recovery.threads.per.data.dir=1",
            "log.retention.hours=168",
            "log.segment.bytes=67108864",
            f"auto.create.topics.enable={'true' if client == 'PLAINTEXT' else 'false'}",
            "delete.topic.enable=true",
            "",
        ])

    @staticmethod
    def _java(cdir: Path, main: str, args: list[str], logfile: Path | None,
              heap: str = KAFKA_HEAP, tool: bool = False, extra_cp: Path | None = None) -> list[str]:
        cmd = [java_tool("java"), f"-Xms{heap}", f"-Xmx{heap}", "-Djava.awt.headless=true",
               "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
        if tool:
            cmd += ["-XX:TieredStopAtLevel=1", "-Xshare:auto"]
        if logfile is not None:
            cmd += [f"-Dorg.slf4j.simpleLogger.logFile={logfile}",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
                    "-Dorg.slf4j.simpleLogger.showShortLogName=true",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"]
        else:
            cmd += ["-Dorg.slf4j.simpleLogger.defaultLogLevel=error"]
        cp = classpath(cdir) if extra_cp is None else f"{extra_cp}{os.pathsep}{classpath(cdir)}"
        return [*cmd, "-cp", cp, main, *args]

    def _spawn_broker(self, cdir: Path, i: int) -> int:
        lay = self._layout(i)
        p = spawn(self._java(cdir, "kafka.Kafka", [str(lay["props"])], lay["log"]),
                  lay["out"], cwd=lay["dir"])
        return p.pid

    def running_brokers(self) -> list[int]:
        """1-based ids of the brokers that run now."""
        st = self.st
        return [i for i in range(1, st.get("brokers", 0) + 1)
                if pid_alive((st.get("pids") or {}).get(str(i)), str(self._layout(i)["props"]))]

    def running(self) -> bool:
        return bool(self.running_brokers())

    def endpoint(self) -> str:
        return self.st["bootstrap"]

    def _broker_exited(self, i: int, what: str) -> StackError:
        lay = self._layout(i)
        return StackError(f"kafka broker {i} {what}:\n{tail(lay['out'])}\n{tail(lay['log'])}")

    @staticmethod
    def _secure_setup_classes(cdir: Path) -> Path:
        """SecureSetup.java compiled into a directory named by its hash (never the shared
        classes/ of TopicSetup, which other checkouts compile from their own sources)."""
        src = COMPONENTS["kafka"].pom_dir / "SecureSetup.java"
        digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
        out = cdir / f"secure-setup-{digest}"
        if (out / "SecureSetup.class").exists():
            return out
        tmp = cdir / f"secure-setup-{digest}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        r = subprocess.run([java_tool("javac"), "-nowarn", "-d", str(tmp), "-cp",
                            str(cdir / "lib" / "*"), str(src)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StackError(f"javac failed for SecureSetup:\n{r.stdout}\n{r.stderr}")
        try:
            tmp.rename(out)
        except OSError:  # compiled meanwhile by another start
            shutil.rmtree(tmp, ignore_errors=True)
        return out

    def _write_client_files(self, st: dict) -> None:
        """tls/admin.properties (the super user's Java client settings) and acls.txt."""
        tls = self.home / "tls"
        (tls / "admin.properties").write_text("\n".join([
            "security.protocol=SASL_SSL",
            f"sasl.mechanism={SASL_MECHANISM}",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{st["users"][ADMIN_USER]}";',
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls / 'ca.crt'}",
            ""]))
        os.chmod(tls / "admin.properties", 0o600)
        lines = [f"User:{user} {acl}" for user, acl_list in CLIENT_USERS.values()
                 for acl in acl_list]
        (tls / "acls.txt").write_text("\n".join(lines) + "\n")

    def _topic_setup(self, cdir: Path, bootstrap: str, brokers: int, topics: tuple[str, ...],
                     timeout: int, watch: list[int]) -> None:
        out = self.home / "logs" / "topic-setup.out"
        if self.st.get("security", "plaintext") == "sasl_ssl":
            tls = self.home / "tls"
            cmd = self._java(cdir, "SecureSetup",
                             [bootstrap, str(tls / "admin.properties"), str(brokers),
                              str(TOPIC_PARTITIONS), str(brokers), str(timeout),
                              str(tls / "acls.txt"), *topics], None, heap="128m", tool=True,
                             extra_cp=self._secure_setup_classes(cdir))
        else:
            cmd = self._java(cdir, "TopicSetup",
                             [bootstrap, str(brokers), str(TOPIC_PARTITIONS), str(brokers),
                              str(timeout), *topics], None, heap="128m", tool=True)
        p = spawn(cmd, out)
        st = self.st
        while p.poll() is None:
            for i in watch:
                pid = (st.get("pids") or {}).get(str(i))
                if not pid_alive(pid):
                    terminate([p.pid], timeout=2)
                    raise self._broker_exited(i, "exited during start-up")
            time.sleep(0.1)
        if p.returncode != 0:
            raise StackError(f"kafka did not become ready:\n{tail(out)}")

    def _pick_ports(self, port: int | None, st: dict, brokers: int,
                    running: list[int]) -> tuple[list[int], list[int]]:
        """explicit > stored (if free or our own broker still holds it) > conventional > free"""
        if port:
            return ([port + 2 * j for j in range(brokers)],
                    [port + 2 * j + 1 for j in range(brokers)])
        if st.get("ports") and len(st["ports"]) == brokers and all(
                port_is_free(p) or (j % brokers + 1) in running
                for j, p in enumerate(st["ports"] + st["controller_ports"])):
            return st["ports"], st["controller_ports"]
        if self.ports.prefer_conventional and all(
                port_is_free(CONVENTIONAL_PORT + k) for k in range(2 * brokers)):
            return ([CONVENTIONAL_PORT + 2 * j for j in range(brokers)],
                    [CONVENTIONAL_PORT + 2 * j + 1 for j in range(brokers)])
        fp = free_ports(2 * brokers)
        return fp[:brokers], fp[brokers:]

    def _make_security(self, st: dict) -> None:
        """CA, broker certificate, PKCS12 keystore and SCRAM passwords (kept once made)."""
        tls = self.home / "tls"
        make_tls(tls)
        st.setdefault("keystore_password", secrets.token_urlsafe(18))
        if not (tls / "broker.p12").exists():
            _openssl("pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key",
                     "-certfile", "ca.crt", "-name", "broker", "-out", "broker.p12",
                     "-passout", f"pass:{st['keystore_password']}", cwd=tls)
        users = st.setdefault("users", {})
        for user in [ADMIN_USER, *(u for u, _ in CLIENT_USERS.values())]:
            users.setdefault(user, secrets.token_urlsafe(18))
        self._write_client_files(st)

    def start(self, brokers: int = 1, port: int | None = None, security: str = "plaintext",
              **_: Any) -> str:
        """Start a KRaft cluster of `brokers` combined broker+controller JVMs (1 or 3),
        format storage on first use, create the bsocial.* topics (3 partitions,
        replication = brokers). Reuses data and ports of a previous start in this
        dir. `port`: broker i listens on port+2*(i-1), its controller on the next port.
        `security`: plaintext, or sasl_ssl (see the module's docstring; credentials()).
        Returns the bootstrap string."""
        if brokers < 1:
            raise ValueError("brokers must be >= 1")
        if security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}")
        st = self.st
        if st and st.get("security", "plaintext") != security and any(
                (self._layout(i)["data"] / "meta.properties").exists()
                for i in range(1, st.get("brokers", 0) + 1)):
            raise StackError(f"{self.home.parent} holds a {st.get('security', 'plaintext')} "
                             f"Kafka; wipe it (or use another dir) to start it with {security}")
        if st and st.get("brokers") != brokers and any(
                (self._layout(i)["data"] / "meta.properties").exists()
                for i in range(1, st.get("brokers", 0) + 1)):
            raise StackError(f"{self.home.parent} holds a {st.get('brokers')}-broker Kafka; "
                             f"wipe it (or use another dir) to start {brokers} broker(s)")
        running = self.running_brokers()
        if st and len(running) == brokers:
            return st["bootstrap"]
        t0 = time.monotonic()
        cdir = fetch("kafka", quiet=True)
        if not st or st.get("brokers") != brokers or st.get("security", "plaintext") != security:
            st = {"brokers": brokers, "cluster_id": _kafka_uuid(), "pids": {},
                  "security": security}
        if security == "sasl_ssl":
            self._make_security(st)
        ports, cports = self._pick_ports(port, st, brokers, running)
        st.update(ports=ports, controller_ports=cports,
                  bootstrap=",".join(f"127.0.0.1:{p}" for p in ports))
        st.setdefault("pids", {})
        # configs + format (in parallel: each StorageTool is a JVM start)
        formats = []
        for i in range(1, brokers + 1):
            lay = self._layout(i)
            lay["data"].mkdir(parents=True, exist_ok=True)
            lay["log"].parent.mkdir(parents=True, exist_ok=True)
            lay["props"].write_text(self._props(i, st))
            if not (lay["data"] / "meta.properties").exists():
                scram = [a for user, password in (st.get("users") or {}).items()
                         for a in ("--add-scram", f"{SASL_MECHANISM}=[name={user},password={password}]")]
                formats.append((i, spawn(self._java(
                    cdir, "kafka.tools.StorageTool",
                    ["format", "-t", st["cluster_id"], "-c", str(lay["props"]), *scram], None,
                    heap="256m", tool=True), lay["out"])))
        for i, p in formats:
            if p.wait() != 0:
                raise StackError(f"kafka storage format of broker {i} failed:\n"
                                 f"{tail(self._layout(i)['out'])}")
        for i in range(1, brokers + 1):
            if i not in running:
                st["pids"][str(i)] = self._spawn_broker(cdir, i)
        self.save(st)
        try:
            self._topic_setup(cdir, st["bootstrap"], brokers, TOPICS, KAFKA_READY_TIMEOUT,
                              list(range(1, brokers + 1)))
        except BaseException:
            self.stop(timeout=5)
            raise
        st = self.st
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        st["topics"] = list(TOPICS)
        self.save(st)
        return st["bootstrap"]

    def credentials(self) -> dict[str, Any]:
        """How clients authenticate: {"security": "plaintext"} or, for sasl_ssl, the
        mechanism librdkafka clients use (PLAIN: see CLIENT_MECHANISM), the CA file and per role (admin, relay, notifier, telemetry) a user and
        its password."""
        st = self.st
        security = st.get("security", "plaintext")
        if security == "plaintext":
            return {"security": security}
        users = st["users"]
        roles = {"admin": {"user": ADMIN_USER, "password": users[ADMIN_USER]}}
        for role, (user, _) in CLIENT_USERS.items():
            roles[role] = {"user": user, "password": users[user]}
        return {"security": security, "mechanism": CLIENT_MECHANISM,
                "scram_mechanism": SASL_MECHANISM,
                "ca_file": str(self.home / "tls" / "ca.crt"), **roles}

    def kcat_args(self, role: str = "admin") -> list[str]:
        """kcat/librdkafka -X settings to connect as `role` (none for plaintext)."""
        c = self.credentials()
        if c["security"] == "plaintext":
            return []
        return ["-X", "security.protocol=sasl_ssl", "-X", f"sasl.mechanisms={c['mechanism']}",
                "-X", f"sasl.username={c[role]['user']}", "-X",
                f"sasl.password={c[role]['password']}", "-X", f"ssl.ca.location={c['ca_file']}"]

    def client_env(self, role: str) -> dict[str, str]:
        """The BSOCIAL_KAFKA_* variables of a bSocial process connecting as `role`."""
        c = self.credentials()
        if c["security"] == "plaintext":
            return {}
        return {"BSOCIAL_KAFKA_SECURITY_PROTOCOL": c["security"],
                "BSOCIAL_KAFKA_SASL_MECHANISM": c["mechanism"],
                "BSOCIAL_KAFKA_USER": c[role]["user"],
                "BSOCIAL_KAFKA_PASSWORD": c[role]["password"],
                "BSOCIAL_KAFKA_CA_FILE": c["ca_file"]}

    def exports(self) -> dict[str, str]:
        out = {self.env_var: self.endpoint()}
        c = self.credentials()
        if c["security"] != "plaintext":
            out[f"{self.env_var}_SECURITY"] = c["security"]
            out[f"{self.env_var}_CA_FILE"] = c["ca_file"]
            for role in ("admin", *CLIENT_USERS):
                out[f"{self.env_var}_{role.upper()}_USER"] = c[role]["user"]
                out[f"{self.env_var}_{role.upper()}_PASSWORD"] = c[role]["password"]
        return out

    def _check_index(self, i: int) -> dict:
        st = self.st
        if not st or not 1 <= i <= st.get("brokers", 0):
            raise ValueError(f"no kafka broker {i} (brokers are numbered 1..{st.get('brokers', 0)})")
        return st

    def stop_broker(self, i: int, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM broker i (1-based = node.id), SIGKILL after timeout."""
        st = self._check_index(i)
        pid = st["pids"].get(str(i))
        if pid_alive(pid, str(self._layout(i)["props"])):
            terminate([pid], timeout=timeout)

    def kill_broker(self, i: int) -> None:
        """SIGKILL broker i (1-based)."""
        st = self._check_index(i)
        pid = st["pids"].get(str(i))
        if pid_alive(pid, str(self._layout(i)["props"])):
            terminate([pid], sig=signal.SIGKILL)

    def restart_broker(self, i: int, wait: bool = True) -> None:
        """(Re)start broker i with its existing data (no reformat); stops it first
        if it runs. With wait, returns once the cluster lists the broker again."""
        st = self._check_index(i)
        self.stop_broker(i)
        cdir = fetch("kafka", quiet=True)
        st["pids"][str(i)] = self._spawn_broker(cdir, i)
        self.save(st)
        if wait:
            self._wait_broker(i, timeout=KAFKA_READY_TIMEOUT)

    def _wait_broker(self, i: int, timeout: float) -> None:
        st = self.st
        addr = f"127.0.0.1:{st['ports'][i - 1]}"
        kcat = shutil.which("kcat") or shutil.which("kafkacat")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(st["pids"].get(str(i))):
                raise StackError(f"kafka broker {i} exited:\n{tail(self._layout(i)['out'])}")
            if kcat:
                r = subprocess.run([kcat, "-L", "-J", "-b", addr, "-m", "2", *self.kcat_args()],
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    try:
                        meta = json.loads(r.stdout)
                        if any(b.get("id") == i for b in meta.get("brokers", [])):
                            return
                    except json.JSONDecodeError:
                        pass
            else:
                self._topic_setup(fetch("kafka", quiet=True), addr, st["brokers"], (), int(timeout), [i])
                return
            time.sleep(0.2)
        raise StackError(f"kafka broker {i} not ready after {timeout}s")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every broker (SIGTERM to all at once, SIGKILL after timeout). Data kept."""
        st = self.st
        if not st:
            return
        pids = [st["pids"].get(str(i)) for i in self.running_brokers()]
        terminate([p for p in pids if p], timeout=timeout)

    def status(self) -> dict[str, Any]:
        k = self.st
        if not k:
            return {}
        return {"bootstrap": k.get("bootstrap"), "brokers": k.get("brokers"),
                "running_brokers": self.running_brokers(), "ports": k.get("ports"),
                "controller_ports": k.get("controller_ports"),
                "security": k.get("security", "plaintext"),
                "startup_seconds": k.get("startup_seconds"), "logs": str(self.home / "logs")}

    def describe(self) -> str:
        k = self.st
        return (f"Kafka       {k['bootstrap']}  ({k['brokers']} broker(s), "
                f"{k.get('security', 'plaintext')}, ready in "
                f"{k['startup_seconds']}s, logs {self.home / 'logs'})")
