"""The load generator of api_latency.py, extended for signed-in pages and form posts:
a session cookie or bearer token, and POSTs of a form fetched (with its CSRF token) by each
client before the timed burst. Results are api_latency.ClientResult, summarized by
api_latency.summarize. Client processes import nothing from Django.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie

from api_latency import ClientResult, ClientTally, timed_request

HOST = "127.0.0.1"
FORM_READY_SECONDS = 3.5  # Frontdesk refuses a contact form sent within 3 s of serving it (a bot sign)


@dataclass
class Target:
    name: str
    method: str  # GET or POST
    paths: list[str]  # requests cycle through these
    cookie: str = ""  # "name=value" of a signed-in session
    bearer: str = ""
    form: str = ""  # POST body template: {csrf}, {started} from the served form, {n} unique per request
    ok: tuple[int, ...] = (200,)


@dataclass
class Job:
    port: int
    target: Target
    start_at: float
    duration: float
    client: int  # 0..concurrency-1
    offset: int


def fetch_form(port: int, path: str, cookie: str) -> tuple[str, dict[str, str]]:
    """GET the form: its cookies (CSRF, session) and the hidden fields to send back."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        html = response.read().decode("utf-8", "replace")
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    finally:
        connection.close()
    cookies = "; ".join([*(f"{k}={v.value}" for k, v in jar.items()), *([cookie] if cookie else [])])
    fields = {}
    for name in ("csrfmiddlewaretoken", "started"):
        found = re.search(rf'name="{name}" value="([^"]*)"', html) or re.search(rf'value="([^"]*)" name="{name}"', html)
        fields[name] = found.group(1) if found else ""
    return cookies, fields


def source_address(client: int, number: int) -> tuple[str, int]:
    """A loopback address per request for form posts: each post comes from another customer,
    as in life, so the per-address throttle of a public form (Frontdesk: 10 an hour) does not
    turn the benchmark into a measurement of 429 answers."""
    return (f"127.{client + 2}.{number // 250 % 250}.{number % 250 + 1}", 0)


def run_client(job: Job) -> ClientResult:
    target = job.target
    headers = {}
    if target.bearer:
        headers["Authorization"] = f"Bearer {target.bearer}"
    fields: dict[str, str] = {}
    if target.method == "POST":
        headers["Cookie"], fields = fetch_form(job.port, target.paths[0], target.cookie)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif target.cookie:
        headers["Cookie"] = target.cookie
    tally = ClientTally()
    time.sleep(max(0.0, job.start_at - time.time()))
    deadline, index, number = job.start_at + job.duration, job.offset, 0
    connection = http.client.HTTPConnection(HOST, job.port, timeout=60)
    while time.time() < deadline:
        path = target.paths[index % len(target.paths)]
        index += 1
        body = None
        if target.method == "POST":
            number += 1
            unique = f"{job.client}x{number}x{int(job.start_at)}"
            body = target.form.format(csrf=fields.get("csrfmiddlewaretoken", ""), started=fields.get("started", ""),
                                      n=unique).encode()
            connection.close()
            connection = http.client.HTTPConnection(HOST, job.port, timeout=60,
                                                    source_address=source_address(job.client, number))
        tally.add(*timed_request(connection, target.method, path, headers=headers, body=body, ok=target.ok),
                  f"{target.method} {path}")
    connection.close()
    return tally.result()


def drive(pool, target: Target, *, port: int, duration: float, concurrency: int) -> tuple[list[ClientResult], float]:
    """One timed burst against one target from ``concurrency`` client processes."""
    start_at = time.time() + (FORM_READY_SECONDS if target.method == "POST" else 0.3)
    jobs = [Job(port=port, target=target, start_at=start_at, duration=duration, client=i,
                offset=i * len(target.paths) // concurrency) for i in range(concurrency)]
    results = pool.map(run_client, jobs)
    return results, max(r.finished_at for r in results) - start_at
