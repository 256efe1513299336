"""Bounded bridge input (issue 28): a 50 MB command frame gets a short too_large reply and ns-3 stays
small; long ids are refused without being echoed; every request read is answered or counted as
dropped in result.json (commands = replies + replies_dropped). Real ns-3, real ZeroMQ."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import zmq

from gaidt_bridge.protocol import BEAT_PERIOD_S, BEAT_TOPIC
from gaidt_bridge.publisher import TwinPublisher
from tests.helpers import REPO, ns3_pid, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    status = open(f"/proc/{pid}/status").read()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:")) / 1024


def _request(sock, req: bytes, timeout_s: float = 30) -> bytes:
    sock.send_multipart([b"", req])
    assert sock.poll(int(timeout_s * 1000)), f"no reply to {req[:60]!r}"
    return sock.recv_multipart()[-1]


@pytest.mark.ns3
def test_big_frames_long_ids_and_unread_replies_are_bounded_and_counted(tmp_path):
    (tmp_path / "cfg.json").write_text(json.dumps(dict(small_config(), duration_s=1.0)))
    out = tmp_path / "run"
    # ipc: small kernel buffers, so replies a client never reads soon fill its queue
    pub, cmd = f"tcp://127.0.0.1:{_free_port()}", f"ipc://{tmp_path}/cmd"
    run = subprocess.Popen(RUN + ["scenario", str(tmp_path / "cfg.json"), "--out", str(out), "--quiet",
                                  "--bridge-pub", pub, "--bridge-cmd", cmd, "--bridge-hold",
                                  "--bridge-hold-timeout-s", "300"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx = zmq.Context.instance()
    client = ctx.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(cmd)
    try:
        assert json.loads(_request(client, b'{"id": 0, "op": "ping"}', 120))["ok"]
        pid = ns3_pid(out, wait_s=0)

        # 1. two 50 MB frames: a short error each, no echo, ns-3's peak memory below 200 MB
        big = json.dumps({"id": 1, "op": "ping", "pad": "x" * 50_000_000}).encode()
        for _ in range(2):
            reply = _request(client, big)
            assert len(reply) < 1000 and b"xxxx" not in reply
            r = json.loads(reply)
            assert r["ok"] is False and r["code"] == "too_large" and r["value"] == f"{len(big)} bytes"
        del big
        assert _peak_rss_mb(pid) < 200

        # 2. an id of 10 kB is refused, not echoed
        r = json.loads(_request(client, json.dumps({"id": "i" * 10_000, "op": "ping"}).encode()))
        assert r["ok"] is False and r["field"] == "id" and "id" not in r and len(json.dumps(r)) < 1000

        # 3. a client that never reads its replies: those that cannot be queued are counted
        flood = ctx.socket(zmq.DEALER)
        flood.setsockopt(zmq.LINGER, 0)
        flood.setsockopt(zmq.SNDHWM, 0)  # queue every request on our side, never block
        flood.setsockopt(zmq.RCVHWM, 1)
        flood.setsockopt(zmq.RCVBUF, 4096)
        flood.connect(cmd)
        sent = 20_000
        for i in range(sent):
            flood.send_multipart([b"", b'{"op": "ping"}'])
        time.sleep(5)  # the held bridge reads continuously; our replies pile up unread
        flood.close()
        assert json.loads(_request(client, b'{"id": 2, "op": "ping"}'))["ok"]  # others still served
        assert json.loads(_request(client, b'{"id": 3, "op": "stop"}'))["stopped"]
        _, err = run.communicate(timeout=120)
    finally:
        client.close()
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    b = json.loads((out / "result.json").read_text())["bridge"]
    assert b["commands"] == b["replies"] + b["replies_dropped"]
    assert b["too_large_requests"] == 2 and b["replies_dropped"] > 0
    assert b["commands"] <= 1 + 2 + 1 + sent + 2  # nothing read twice


@pytest.mark.slow
@pytest.mark.unit
def test_the_python_publisher_beats_and_bounds_its_input_like_the_cpp_bridge(tmp_path):
    pub = TwinPublisher(f"ipc://{tmp_path}/pub", f"ipc://{tmp_path}/cmd", run_id="py")
    ctx = zmq.Context.instance()
    sub, client = ctx.socket(zmq.SUB), ctx.socket(zmq.DEALER)
    for s in (sub, client):
        s.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, BEAT_TOPIC)
    sub.connect(f"ipc://{tmp_path}/pub")
    client.connect(f"ipc://{tmp_path}/cmd")
    try:
        assert sub.poll(int(3 * BEAT_PERIOD_S * 1000)), "no beat"
        topic, header = sub.recv_multipart()
        beat = json.loads(header)
        assert topic == BEAT_TOPIC and beat["run_id"] == "py" and beat["beat"] >= 1 and "seq" not in beat

        replies = []
        for frame in (json.dumps({"id": 1, "op": "ping", "pad": "x" * 100_000}).encode(),
                      json.dumps({"id": "i" * 1000, "op": "ping"}).encode(), b"[" * 50_000):
            client.send_multipart([b"", frame])
            deadline = time.monotonic() + 10
            while not client.poll(50) and time.monotonic() < deadline:
                pub.poll_commands()
            replies.append(json.loads(client.recv_multipart()[-1]))
        assert [r["code"] for r in replies] == ["too_large", "invalid", "malformed"]
        assert all(len(json.dumps(r)) < 1000 for r in replies) and replies[1]["field"] == "id"
        assert pub.counters["commands"] == pub.counters["replies"] == 3
        assert pub.counters["too_large_requests"] == 1 and pub.counters["replies_dropped"] == 0
    finally:
        sub.close()
        client.close()
        pub.close()
