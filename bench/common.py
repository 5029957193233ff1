"""What the benchmarks share: percentiles, the benchmark database, the production-mode environment
and HTTP calls to the server under test (127.0.0.1 only)."""

import os
import subprocess
import time
import urllib.error
import urllib.request

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vas_bench"
# DEBUG off, as in production; the keys are fixed so the benchmark process can sign tokens the server accepts.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "vas-bench-secret-key-not-for-production-0123456789abcdef",
    "VAS_ENCRYPTION_KEYS": "dmFzLWJlbmNoLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24=",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "VAS_LOG_LEVEL": "WARNING",
}


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of values (fraction 0.5 for p50)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def database_url() -> str:
    return os.getenv("BENCH_DATABASE_URL", BENCH_DATABASE_URL)


def request(
    url: str, *, token: str | None, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One call, authenticated unless token is None (or empty): its status and body, errors
    included (a 304 too)."""
    all_headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    req = urllib.request.Request(url, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    """Wait for the server's health route, or stop when the server exits or takes 30 s."""
    for _ in range(150):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited; see its log")
        try:
            urllib.request.urlopen(f"{base}/api/health", timeout=2)  # noqa: S310 - 127.0.0.1 only
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in 30 s")
