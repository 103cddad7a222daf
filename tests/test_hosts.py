"""Claims held on another host (issue 29): judged by their heartbeat, never by a local pid;
two catalog connections with different host names stand for the two machines."""

import json
import os
import time

import pytest

from digitizer import catalog as catmod

DVD_CHAIN = ("rip", "transcode", "insert")


def test_another_hosts_claim_is_released_when_its_heartbeat_stops(tmp_path):
    db = tmp_path / "c.db"
    here, nas = catmod.Catalog(db), catmod.Catalog(db)
    here.ensure_steps("fp", 1, DVD_CHAIN)
    here.ensure_steps("fp", 2, DVD_CHAIN)
    # The NAS claims both rips (its pids mean nothing here) and keeps one alive.
    beating = nas.claim("rip", title=1, pid=4242, host="nas")
    stopped = nas.claim("rip", title=2, pid=4243, host="nas")
    assert here.release_stale(host="desktop", stale_after=0.5) == []  # both fresh
    time.sleep(0.7)
    nas.heartbeat(beating["id"], 0.5)
    released = here.release_stale(host="desktop", stale_after=0.5)
    assert [r["id"] for r in released] == [stopped["id"]]
    states = {s["title"]: s for s in here.steps("fp", kind="rip")}
    assert states[1]["state"] == "running" and states[1]["worker_host"] == "nas"
    assert states[2]["state"] == "pending" and states[2]["error"] == "worker nas:4243 died"
    # the NAS's pid 4242 is not looked up here: a claim on another host is never judged
    # by a local pid, however dead that pid is
    assert here.release_stale(host="desktop", stale_after=60, alive=lambda *a: False) == []
    # taken over on this host, on the second attempt
    again = here.claim("rip", title=2, host="desktop")
    assert (again["worker_host"], again["attempts"]) == ("desktop", 2)


@pytest.mark.parametrize("quiet_for, taken_over", [(121, True), (60, False)])
def test_resume_takes_over_a_claim_only_when_its_host_went_quiet_for_two_minutes(
        run_cli, home, movie_disc, quiet_for, taken_over):
    # A transcode claimed by another machine (the README: "on another host its heartbeat
    # stopped for 2 minutes"): resume takes it over after 121 s of silence, not after 60.
    r = run_cli("rip", movie_disc.iso, "--title", "3")
    assert r.code == 0, r
    fp = r.objects[0]["fingerprint"]
    nas = catmod.Catalog(home / "data" / "catalog.db")
    step = nas.claim("transcode", fingerprint=fp, pid=os.getpid(), host="nas")
    assert step["title"] == 3
    nas.set_step(fp, 3, "transcode", heartbeat=time.time() - quiet_for)
    r = run_cli("resume", "--json")
    now = nas.step(fp, 3, "transcode")
    if taken_over:
        assert r.code == 0, r
        assert (now["state"], now["attempts"]) == ("done", 2)
        assert nas.step(fp, 3, "insert")["state"] in ("done", "review")
    else:
        assert (now["state"], now["worker_host"], now["attempts"]) == ("running", "nas", 1)
        # said, not taken: the row names the host still holding it
        [row] = json.loads(r.stdout)
        assert f"title 3 transcode is being worked on by nas:{os.getpid()}" in \
            (row.get("waiting") or row.get("error") or ""), row
