"""Server: what each server class (postgres.py, kafka.py, opensearch.py) provides.

A server keeps its files under <stack dir>/<name>/ and its entry in the state file under
the key <name>. Stack and the CLI only use what is declared here, so adding a server is:
a module with a subclass, a line in stack.SERVERS (and, for a Java server, a line in
java.COMPONENTS)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from .common import STOP_TIMEOUT, PortPolicy, pid_alive
from .state import StateFile


class Server:
    name: ClassVar[str]         # state key, directory, endpoints() key, CLI flag --<name>
    title: ClassVar[str]        # for people: "PostgreSQL"
    env_var: ClassVar[str]      # the tests' variable for its endpoint: BSOCIAL_TEST_...
    default_on: ClassVar[bool]  # CLI: started unless --no-<name>; else only with --<name>
    java: ClassVar[str | None] = None  # its java.COMPONENTS key, fetched before a start

    def __init__(self, stack_dir: Path, state: StateFile, ports: PortPolicy):
        self.home = stack_dir / self.name
        self.state = state
        self.ports = ports

    @property
    def st(self) -> dict:
        """A copy of this server's state entry."""
        return self.state.get(self.name)

    def save(self, st: dict | None) -> None:
        self.state.set(self.name, st)

    def running(self) -> bool:
        """The recorded pid runs and its command line names the recorded data dir (a
        single-process server; Kafka, with one process per broker, has its own)."""
        st = self.st
        return pid_alive(st.get("pid"), st.get("data"))

    def endpoint(self) -> str:
        """Where clients connect (a URL or a bootstrap list); valid while it runs."""
        return self.st["url"]

    def start(self, **options: Any) -> str:
        """Starts it (or does nothing if it runs); returns endpoint()."""
        raise NotImplementedError

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stops it; data kept. Nothing to do when it does not run."""
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """Its part of Stack.status() ({} when it was never started here)."""
        raise NotImplementedError

    def restart(self) -> str:
        """Stop and start again on the same port, data kept (a single-endpoint server)."""
        port = self.st.get("port")
        self.stop()
        return self.start(port=port)

    def recorded(self, *keys: str) -> dict[str, Any]:
        """status() of a single-process server: url, running and these state entries."""
        st = self.st
        if not st:
            return {}
        return {"url": st.get("url"), "running": self.running(), **{k: st.get(k) for k in keys}}

    def exports(self) -> dict[str, str]:
        """The variables `up`/`start` print for tests and tools, while it runs."""
        return {self.env_var: self.endpoint()}

    def describe(self) -> str:
        """One line for people, while it runs."""
        st = self.st
        return (f"{self.title:<11} {self.endpoint()}  (ready in {st.get('startup_seconds')}s, "
                f"log {st.get('log')})")
