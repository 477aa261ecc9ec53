"""Console sign-in under attack: exponential back-off per user and client address, kept in the store's database
(SQLite and PostgreSQL; concurrent workers cannot slip past it), and a cap on concurrent password hashes -- checked
on a real ``bedrockctl serve`` process, whose memory is read from /proc while 20 wrong sign-ins run at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bedrockctl.services.login_throttle import LoginOptions, LoginThrottle
from bedrockctl.store import Store
from ports import spawn_listening

PASSWORD = "correct horse battery"
RSS_LIMIT_MB = 300


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'throttle.db'}")
        yield store.engine
        store.close()
        return
    url = os.environ.get("BEDROCKCTL_TEST_PG_URL")
    if not url:
        pytest.skip("PostgreSQL: set BEDROCKCTL_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    store = Store(url, schema=schema)
    yield store.engine
    with store.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    store.close()


def test_back_off_doubles_after_the_free_attempts_and_success_resets_it(engine: Any) -> None:
    clock = Clock()
    throttle = LoginThrottle(engine, LoginOptions(), clock)
    assert [throttle.begin("ana", "10.0.0.1") for _ in range(4)] == [0, 0, 0, 0]  # 3 free, the 4th starts 1 s
    waits = []
    for _ in range(6):
        wait = throttle.begin("ana", "10.0.0.1")
        assert wait > 0 and throttle.begin("ana", "10.0.0.1") == pytest.approx(wait)  # refused: not counted
        assert throttle.wait_for("ana", "10.0.0.1") == pytest.approx(wait)
        waits.append(round(wait))
        clock.now += wait
        assert throttle.begin("ana", "10.0.0.1") == 0
    assert waits == [1, 2, 4, 8, 16, 32]
    throttle.succeeded("ana", "10.0.0.1")  # the user's counts are gone; the address keeps its other failures
    assert throttle.wait_for("ana", "10.0.0.1") == 0 and throttle.begin("ana", "10.0.0.1") == 0
    clock.now += LoginOptions().window_seconds + 1  # failures older than the window are forgotten
    assert [throttle.begin("ana", "10.0.0.1") for _ in range(4)] == [0, 0, 0, 0]
    assert throttle.begin("ana", "10.0.0.1") > 0


def test_an_attacker_cannot_lock_the_user_out_for_long(engine: Any) -> None:
    clock = Clock()
    throttle = LoginThrottle(engine, LoginOptions(), clock)
    counted = 0
    while counted < 10:  # one address, retrying as soon as allowed: only that address is slowed down
        wait = throttle.begin("ana", "198.51.100.7")
        counted += wait == 0
        clock.now += wait
    assert throttle.wait_for("ana", "198.51.100.7") >= 32
    assert throttle.wait_for("ana", "10.0.0.1") == 0  # the real user, at their own address
    for i in range(200):  # many addresses: the user-wide back-off, capped
        throttle.begin("ana", f"203.0.113.{i % 250}")
        clock.now += 0.1
    assert 0 < throttle.wait_for("ana", "10.0.0.1") <= LoginOptions().user_max_delay_seconds
    for i in range(30):  # one address trying many users
        throttle.begin(f"user{i}", "192.0.2.1")
    assert throttle.wait_for("somebody", "192.0.2.1") > 0


def test_concurrent_attempts_cannot_slip_past_the_limit(engine: Any) -> None:
    throttle = LoginThrottle(engine, LoginOptions())
    with ThreadPoolExecutor(20) as pool:
        waits = list(pool.map(lambda _: throttle.begin("ana", "10.0.0.9"), range(20)))
    assert sum(1 for w in waits if w == 0) == 4  # 3 free + the one that starts the back-off, whatever the order


def test_login_options_are_checked() -> None:
    from bedrockctl.errors import ConfigError
    from bedrockctl.settings import Settings

    opts = LoginOptions.from_settings(Settings(gateway={"login": {"max_concurrent_hashes": "3", "window_seconds": 60}}))
    assert (opts.max_concurrent_hashes, opts.window_seconds) == (3, 60.0)
    for bad in ({"max_concurrent_hashes": 0}, {"free_failures": "many"}, {"nope": 1}):
        with pytest.raises(ConfigError):
            LoginOptions.from_settings(Settings(gateway={"login": bad}))


# -- a real `bedrockctl serve` ------------------------------------------------------------------------------------
def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Serve:
    def __init__(self, tmp_path: Path, login: str) -> None:
        db = tmp_path / "bedrockctl.db"
        config = tmp_path / "bedrockctl.toml"
        config.write_text(
            f'[aws]\nregion = "us-east-1"\n[store]\nurl = "sqlite:///{db}"\ndata_dir = "{tmp_path}"\n'
            f'[gateway]\nmaster_secret = "{uuid.uuid4().hex}"\nledger = false\n[gateway.login]\n{login}\n'
        )
        from bedrockctl.services.users import SYSTEM, UserService

        store = Store(f"sqlite:///{db}")
        UserService(store.engine).create(SYSTEM, "ana", PASSWORD, role="admin")  # argon2id at its real cost
        store.close()
        self.proc, self.port = spawn_listening(
            lambda port: [sys.executable, "-m", "bedrockctl.cli.main", "serve", "--port", str(port)],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(config), "HOME": str(tmp_path)},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else "serve exited"
            try:
                if httpx.get(self.url + "/healthz", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
        page = httpx.get(self.url + "/login")
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        self.cookies = dict(page.cookies)

    def login(self, password: str, user: str = "ana") -> tuple[int, float, str | None]:
        """(status, seconds, Retry-After) of one sign-in."""
        start = time.monotonic()
        res = httpx.post(
            self.url + "/login",
            data={"username": user, "password": password, "csrf_token": self.csrf, "next": "/"},
            cookies=self.cookies,
            timeout=120,
        )
        return res.status_code, time.monotonic() - start, res.headers.get("retry-after")

    def burst(self, n: int) -> tuple[list[tuple[int, float, str | None]], float, float]:
        """``n`` wrong sign-ins at once; returns the results, the RSS before and the highest RSS meanwhile (MB)."""
        before = peak = _rss_mb(self.proc.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _rss_mb(self.proc.pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with ThreadPoolExecutor(n) as pool:
                results = list(pool.map(lambda i: self.login(f"wrong password {i}"), range(n)))
        finally:
            done.set()
            sampler.join()
        return results, before, peak

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Serve] = []

    def start(login: str = "") -> Serve:
        started.append(Serve(tmp_path, login))
        return started[-1]

    yield start
    for s in started:
        s.close()


@pytest.mark.slow
def test_twenty_concurrent_wrong_logins_stay_under_300_mb_without_the_back_off(serve: Any) -> None:
    """The hash cap alone (back-off out of the way): 2 hashes at once, 8 waiting, the rest 503 + Retry-After."""
    server = serve("free_failures = 1000\naddress_free_failures = 1000\nuser_free_failures = 1000")
    results, before, peak = server.burst(20)
    statuses = sorted(s for s, _, _ in results)
    print(f"\nhash cap alone: RSS {before:.0f} MB before, {peak:.0f} MB at most during 20 wrong logins; {statuses}")
    assert peak < RSS_LIMIT_MB, f"RSS reached {peak:.0f} MB (before: {before:.0f} MB)"
    assert set(statuses) <= {401, 503} and statuses.count(401) >= 2, statuses
    assert all(r is not None and int(r) >= 1 for s, _, r in results if s == 503)
    assert server.login(PASSWORD)[0] == 303  # and the right password still signs in


@pytest.mark.slow
def test_wrong_logins_slow_down_and_the_right_password_works_after_the_wait(serve: Any) -> None:
    server = serve()  # the defaults
    first = [server.login(f"wrong {i}") for i in range(4)]
    assert [s for s, _, _ in first] == [401, 401, 401, 401]  # 3 free attempts, the 4th starts the back-off
    waits = []
    for _ in range(3):  # each wait over, one more wrong password doubles the next wait
        status, _, retry = server.login("still wrong")
        assert status == 429 and retry is not None
        waits.append(int(retry))
        time.sleep(int(retry) + 0.1)
        assert server.login("still wrong")[0] == 401
    print(f"\nRetry-After after each further wrong password: {waits} s")
    assert waits == [1, 2, 4]
    status, _, retry = server.login(PASSWORD)  # during the back-off even the right password waits ...
    assert status == 429 and retry == "8"
    time.sleep(8.1)
    assert server.login(PASSWORD)[0] == 303  # ... and signs in after it

    results, before, peak = server.burst(20)
    statuses = sorted(s for s, _, _ in results)
    print(f"defaults: RSS {before:.0f} MB before, {peak:.0f} MB at most during 20 concurrent wrong logins; {statuses}")
    assert peak < RSS_LIMIT_MB, f"RSS reached {peak:.0f} MB (before: {before:.0f} MB)"
    assert set(statuses) <= {401, 429, 503} and statuses.count(401) <= 10  # at most 2 hashing + 8 waiting
    status, _, retry = server.login("and again")
    assert status == 429 and retry is not None and int(retry) >= 1  # slowed down
