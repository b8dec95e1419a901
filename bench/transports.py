#!/usr/bin/env python
"""Raw Celery no-op throughput over brokers that need no server (+ Redis reference).

Per transport: start a real ``celery worker --pool prefork --concurrency 2`` subprocess,
enqueue N no-op tasks, and time until all N have executed.  No result backend: each task
appends one fixed-width record ("%07d\\n") to a file opened with O_APPEND (a single small
write(2) is atomic), and the driver polls the file size against a deadline.  Records are
then checked for exactly-once execution (no lost / duplicated ids).  Also probes remote
control (ping / revoke) and whether task priority changes execution order.

    python bench/transports.py --n 2000 --repeat 3
The worker imports this same module (``-A transports:app``) and is configured via env vars.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from celery import Celery

HERE = Path(__file__).resolve().parent
REC = 8  # bytes per execution record
REDIS_URL = "redis://127.0.0.1:6379/15"


def noop(path: str, rec: int) -> None:
    """The benchmarked task: append one fixed-width record, cross-process safe."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"%07d\n" % rec)
    finally:
        os.close(fd)


def make_app(kind: str, root: Path, poll: float) -> Celery:
    app = Celery("bench", set_as_current=False)
    conf: dict = {
        "task_ignore_result": True,
        "result_backend": None,
        "worker_hijack_root_logger": False,
    }
    if kind == "filesystem":
        q = root / "queue"
        for d in (q, root / "control", root / "processed"):
            d.mkdir(exist_ok=True)
        conf |= {
            "broker_url": "filesystem://",
            "broker_transport_options": {
                "data_folder_in": str(q),
                "data_folder_out": str(q),  # same dir: producer+consumer
                "control_folder": str(root / "control"),
                "processed_folder": str(root / "processed"),
                "store_processed": False,
                "polling_interval": poll,
            },
        }
    elif kind == "sqlite":
        # kombu forwards *all* sqla transport options to create_engine(), so
        # polling_interval cannot be passed as an option; set the class default instead.
        import kombu.transport.sqlalchemy as sqla

        sqla.Transport.polling_interval = poll
        conf["broker_url"] = f"sqla+sqlite:///{root / 'broker.sqlite'}"
    elif kind == "redis":
        conf["broker_url"] = REDIS_URL
    else:
        raise ValueError(kind)
    app.conf.update(conf)
    app.task(name="bench.noop")(noop)
    return app


# The worker subprocess imports this module and picks up its config from the environment.
app: Celery | None = (
    make_app(
        os.environ["BENCH_KIND"], Path(os.environ["BENCH_ROOT"]), float(os.environ["BENCH_POLL"])
    )
    if "BENCH_KIND" in os.environ
    else None
)


def wait_for(
    cond: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"worker died (rc={proc.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.002)


def size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def records(p: Path) -> list[int]:
    return [int(x) for x in p.read_text().split()] if p.exists() else []


class Worker:
    """A real `celery worker` subprocess in its own process group."""

    def __init__(self, kind: str, root: Path, poll: float) -> None:
        self.log = root / "worker.log"
        env = os.environ | {
            "BENCH_KIND": kind,
            "BENCH_ROOT": str(root),
            "BENCH_POLL": str(poll),
            "PYTHONPATH": str(HERE),
            "TMPDIR": str(root),
        }  # same FS for rename
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "transports:app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "-l",
            "INFO",
            "-n",
            f"bench-{kind}@%h",
        ]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=root
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> None:
        wait_for(
            lambda: " ready." in self.text() or self.proc.poll() is not None,
            timeout,
            "worker ready",
        )
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited rc={self.proc.returncode}:\n{self.text()[-3000:]}")

    def problems(self) -> list[str]:
        benign = ("No hostname was supplied", "as revoked in backend: No result backend")
        return [
            ln
            for ln in self.text().splitlines()
            if any(k in ln for k in ("ERROR", "CRITICAL", "WARNING", "Traceback"))
            and not any(b in ln for b in benign)
        ]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown; main reaps pool children
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):  # SIGKILL what is left in its group
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def priority_order(app: Celery, root: Path) -> Path:
    """Enqueue 10 x prio 5, then 10 x prio 0, then 10 x prio 9 (worker not yet running)."""
    path = root / "prio.log"
    for prio in (5, 0, 9):
        for i in range(10):
            app.send_task("bench.noop", (str(path), prio * 1000 + i), priority=prio)
    return path


def runs(recs: list[int]) -> str:
    out: list[list[int]] = []
    for p in (r // 1000 for r in recs):
        if out and out[-1][0] == p:
            out[-1][1] += 1
        else:
            out.append([p, 1])
    return " ".join(f"p{p}x{c}" for p, c in out)


def probe_control(app: Celery, w: Worker, root: Path) -> str:
    try:
        ping = app.control.ping(timeout=2.0)
    except Exception as exc:
        ping = f"{type(exc).__name__}: {exc}"
    rid, rpath = str(uuid.uuid4()), root / "revoked.log"
    try:
        rev = app.control.revoke(rid, reply=True, timeout=2.0)
    except Exception as exc:
        rev = f"{type(exc).__name__}: {exc}"
    app.send_task("bench.noop", (str(rpath), 1), task_id=rid)
    try:  # the worker logs this line when it drops a revoked task on receipt
        wait_for(
            lambda: f"Discarding revoked task: bench.noop[{rid}]" in w.text() or size(rpath) > 0,
            10,
            "revoked task to be discarded or run",
        )
        outcome = "ran (revoke NOT applied)" if size(rpath) else "discarded"
    except TimeoutError:
        outcome = "neither discarded nor run within 10s"
    return f"ping={ping!r} revoke_replies={rev!r} revoked_task={outcome}"


def bench(kind: str, poll: float, n: int, repeat: int, timeout: float) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    app, w = make_app(kind, root, poll), None
    res: dict = {"kind": kind, "poll": poll, "n": n, "rates": [], "errors": []}
    try:
        if kind == "redis":
            with app.connection_for_write() as conn:
                conn.default_channel.client.flushdb()  # db 15 is reserved for this bench
        ppath = priority_order(app, root)
        w = Worker(kind, root, poll)
        t0 = time.monotonic()
        w.wait_ready(60)
        res["startup_s"] = time.monotonic() - t0
        wait_for(lambda: size(ppath) >= 30 * REC, timeout, "priority probe tasks", w.proc)
        res["prio"] = runs(records(ppath))
        res["control"] = probe_control(app, w, root)
        for r in range(repeat):
            path = root / f"run{r}.log"
            t0 = time.perf_counter()
            for i in range(n):
                app.send_task("bench.noop", (str(path), i))
            wait_for(
                lambda path=path: size(path) >= n * REC,
                timeout,
                f"{n} executions (run {r})",
                w.proc,
            )
            res["rates"].append(n / (time.perf_counter() - t0))
    except Exception as exc:
        res["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        if w is not None:
            w.stop()  # then re-check counts: late duplicates would show up now
            res["worker_problems"] = w.problems()
        for r in range(repeat):
            if not (root / f"run{r}.log").exists():
                break
            c = Counter(records(root / f"run{r}.log"))
            lost, dups = n - len(set(c) & set(range(n))), sum(v - 1 for v in c.values())
            if lost or dups:
                res["errors"].append(f"run {r}: lost={lost} duplicated={dups}")
        app.close()
        shutil.rmtree(root, ignore_errors=True)
    return res


def report(res: dict) -> None:
    rates = res["rates"]
    med = statistics.median(rates) if rates else float("nan")
    res["median"] = med
    print(
        f"== {res['kind']} poll={res['poll']} n={res['n']}: "
        f"runs={' '.join(f'{r:.0f}' for r in rates)} tasks/s  median={med:.0f} tasks/s"
    )
    print(
        f"   worker startup={res.get('startup_s', float('nan')):.2f}s  "
        f"priority order={res.get('prio', '-')}"
    )
    print(f"   control: {res.get('control', '-')}")
    for p in res.get("worker_problems", [])[:5]:
        print(f"   worker log: {p[:200]}")
    for e in res["errors"]:
        print(f"   ERROR: {e}")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--sqlite-n", type=int, default=None, help="N for sqlite (default: --n)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fs-polls", default="0.01,0.02,0.05,0.1")
    ap.add_argument("--sqlite-poll", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--only", default="filesystem,sqlite,redis")
    a = ap.parse_args()
    only, results = a.only.split(","), []
    if "filesystem" in only:
        for poll in (float(x) for x in a.fs_polls.split(",")):
            results.append(bench("filesystem", poll, a.n, a.repeat, a.timeout))
            report(results[-1])
    if "sqlite" in only:
        results.append(bench("sqlite", a.sqlite_poll, a.sqlite_n or a.n, a.repeat, a.timeout))
        report(results[-1])
    if "redis" in only:
        results.append(bench("redis", 0.0, a.n, a.repeat, a.timeout))
        report(results[-1])
    summary = []
    for kind in ("filesystem", "sqlite", "redis"):
        ok = [
            r
            for r in results
            if r["kind"] == kind and not r["errors"] and len(r["rates"]) == a.repeat
        ]
        if ok:
            best = max(ok, key=lambda r: r["median"])
            summary.append(f"{kind}(poll={best['poll']},n={best['n']})={best['median']:.0f}/s")
        elif any(r["kind"] == kind for r in results):
            summary.append(f"{kind}=FAILED")
    print("SUMMARY median tasks/s: " + "  ".join(summary))


if __name__ == "__main__":
    main()
