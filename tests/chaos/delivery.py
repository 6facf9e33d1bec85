"""Fault scenarios on the way out: the daemon killed while ingesting, evaluating,
shipping and notifying; Elasticsearch down for a long time or flaky; the
notification channel down then back. Each returns an Outcome (see outcome.py).
"""

from __future__ import annotations

import functools
import random
import time
from pathlib import Path

from tests.chaos import workload
from tests.chaos.outcome import Outcome
from tests.chaos.rig import Rig, wait
from tests.daemon_process import query
from tests.fixtures.es_standin import EsStandin
from tests.fixtures.smtp import JsonReceiver, SmtpServer

# how long the final run may take to finish everything, per 100k records (generous:
# the machine is shared, and a timeout here says nothing about loss)
DRAIN_SECONDS_PER_100K = 600


def _drain_timeout(records: int) -> float:
    return 120 + DRAIN_SECONDS_PER_100K * records / 100_000


def _position(rig: Rig, stage: str) -> int:
    if stage == "ingest":
        rows = query(rig.db, "SELECT coalesce(max(seq), 0) FROM events")
    else:
        rows = query(rig.db, "SELECT position FROM cursors WHERE name=?", (stage,))
    return int(rows[0][0]) if rows else 0


def _reached(rig: Rig, stage: str, target: float) -> bool:
    return _position(rig, stage) >= target


def crash(root: Path, records: int, kills: int = 20, seed: int = 1) -> Outcome:
    """SIGKILL at `kills` random points while the daemon ingests, evaluates, ships to
    the Elasticsearch stand-in and notifies; then one run to the end. Compared with
    an uninterrupted run: events in the store and the cluster, alerts in the store,
    the cluster and the messages that reached the receiver."""
    started = time.monotonic()
    with EsStandin(root / "es") as es, JsonReceiver(root / "hook") as hook:
        rig = Rig(root / "run", es=es, hook=hook)
        rig.write(records, seed)
        ref = rig.reference()
        total = len(ref.event_ids)
        rng = random.Random(seed)
        points = sorted(rng.uniform(0.02, 0.97) * total for _ in range(kills))
        stages = ["ingest", "rules", "es.events"]
        done = 0
        for i, point in enumerate(points):
            # each kill interrupts one stage in turn, at its point or (if that stage is
            # already past it) a little after where it is now: always mid-work
            order = stages[i % 3:] + stages[:i % 3]
            stage = next((s for s in order if _position(rig, s) < total - total // 50), None)
            if stage is None:
                break
            target = max(point, _position(rig, stage) + rng.uniform(0.005, 0.02) * total)
            target = min(target, total - 1)
            with rig.daemon() as d:
                wait(functools.partial(_reached, rig, stage, target), _drain_timeout(records),
                     f"{stage} at {int(target)}", d)
                d.kill()
            done += 1
        with rig.daemon() as d:
            wait(rig.drained, _drain_timeout(records), "everything done after the last kill", d,
                 every=1.0)
            assert d.stop(60) == 0
        out = rig.outcome("Crash (SIGKILL)", f"{records:,} records, {kills} SIGKILLs", ref,
                          done, started)
        stats = es.state()["stats"]
        if stats.get("item_409"):
            out.notes.append(f"{stats['item_409']} re-sent documents refused by the cluster"
                             " as already there (409)")
        if done < kills:
            out.notes.append(f"only {done} kills: every stage finished before the rest")
        return out


def es_outage(root: Path, records: int, outage: float, seed: int = 2) -> Outcome:
    """The cluster goes away (port closed, connections cut) for `outage` seconds while
    the second half of the log is written; then it comes back."""
    started = time.monotonic()
    with EsStandin(root / "es") as es:
        rig = Rig(root / "run", es=es)
        lines = list(workload.lines(records, seed))
        half = len(lines) // 2
        rig.log.write_text("".join(lines[:half]))
        with rig.daemon() as d:
            wait(lambda: _position(rig, "es.events") >= 1, 120, "shipping to start", d)
            es.down()
            down_at = time.monotonic()
            with rig.log.open("a") as f:
                f.write("".join(lines[half:]))
            ref = rig.reference()
            wait(lambda: _position(rig, "ingest") >= len(ref.event_ids), _drain_timeout(records),
                 "the rest to be stored while the cluster is down", d, every=1.0)
            backlog = len(ref.event_ids) - _position(rig, "es.events")
            # the outage lasts its full length whatever the checks above took
            time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
            es.up()
            wait(rig.drained, _drain_timeout(records), "the backlog to drain", d, every=1.0)
            assert d.stop(60) == 0
        out = rig.outcome("Elasticsearch down", f"{records:,} records, cluster down "
                          f"{outage:g} s", ref, 1, started)
        out.notes.append(f"{backlog:,} events waited in the store while it was down")
        return out


FLAKY = {"item": {"429": 0.03, "503": 0.01}, "request": {"503": 0.03, "429": 0.02},
         "drop_before": 0.02, "drop_after": 0.02, "slow": 0.02, "slow_seconds": [0.1, 0.5]}


def es_flaky(root: Path, records: int, seed: int = 3) -> Outcome:
    """Random 429s and 5xx per item and per request, connections dropped before and
    after the bulk is applied, slow answers."""
    started = time.monotonic()
    with EsStandin(root / "es") as es:
        rig = Rig(root / "run", es=es, es_batch=200)  # small batches: many requests to fail
        rig.write(records, seed)
        ref = rig.reference()
        es.faults(**FLAKY, seed=seed)
        with rig.daemon() as d:
            wait(rig.drained, _drain_timeout(records), "shipping through the faults", d,
                 every=1.0)
            assert d.stop(60) == 0
        stats = es.state()["stats"]
        # item_409 is not injected here: it is a re-sent document the cluster already has
        injected = {k: v for k, v in stats.items() if k != "item_409"
                    and k.startswith(("request_", "item_4", "item_5", "dropped_"))}
        out = rig.outcome("Elasticsearch flaky", f"{records:,} records, random 429/5xx/"
                          "dropped connections", ref, sum(injected.values()), started)
        out.notes.append("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(injected.items())))
        if stats.get("item_409"):
            out.notes.append(f"{stats['item_409']} re-sent documents refused by the cluster"
                             " as already there (409)")
        return out


def notify_outage(root: Path, records: int, outage: float, seed: int = 4) -> Outcome:
    """The mail server is down while the alerts are raised, and comes back after
    `outage` seconds; a webhook next to it stays up. Every alert must reach both
    once."""
    started = time.monotonic()
    with SmtpServer(root / "smtp") as smtp, JsonReceiver(root / "hook") as hook:
        rig = Rig(root / "run", hook=hook, smtp=smtp)
        rig.write(records, seed)
        ref = rig.reference()
        smtp.stop()
        with rig.daemon() as d:
            down_at = time.monotonic()
            wait(lambda: bool(query(rig.db, "SELECT 1 FROM notify_outbox WHERE route='mail'"
                                            " AND attempts > 0 LIMIT 1")), 300,
                 "a refused delivery", d)
            time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
            failed = query(rig.db, "SELECT coalesce(sum(attempts), 0) FROM notify_outbox"
                                   " WHERE route='mail'")[0][0]
            smtp.start()
            wait(rig.drained, _drain_timeout(records), "every alert delivered", d, every=1.0)
            time.sleep(2)  # a second copy of anything would be on its way by now
            assert d.stop(60) == 0
        out = rig.outcome("Notification channel down", f"{records:,} records, mail server "
                          f"down {outage:g} s", ref, 1, started)
        out.notes.append(f"{failed} delivery attempts refused while the mail server was down")
        return out
