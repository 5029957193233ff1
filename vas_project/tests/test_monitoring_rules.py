"""The monitoring files in docs/monitoring: promtool checks the alert rules and runs their unit
tests, and the rules and the Grafana dashboard query only metrics that /metrics serves."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

MONITORING_DIR = Path(__file__).resolve().parent.parent.parent / "docs" / "monitoring"
RULES = MONITORING_DIR / "prometheus-rules.yml"
RULES_TESTS = MONITORING_DIR / "prometheus-rules.test.yml"
DASHBOARD = MONITORING_DIR / "grafana-dashboard.json"

# What /metrics serves: renaming a metric there breaks the rules and the dashboard, so it must be renamed here too.
HISTOGRAMS = {"vas_capture_duration_seconds", "vas_http_request_duration_seconds"}
METRICS = HISTOGRAMS | {
    "vas_captures_total",
    "vas_live_frame_age_seconds",
    "vas_keeper_session_up",
    "vas_keeper_reconnects_total",
    "vas_last_snapshot_timestamp_seconds",
    "vas_device_online",
    "vas_device_enabled",
    "vas_stored_bytes",
    "vas_stored_snapshots",
    "vas_jobs",
    "vas_webhook_deliveries_total",
    "vas_prune_runs_total",
    "vas_prune_deleted_snapshots_total",
    "vas_heartbeat_timestamp_seconds",
}
# A whole PromQL identifier, so that a recording rule's name (device:vas_captures:rate15m) is not read as a metric.
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
STRING = re.compile(r'"[^"]*"')
# The dashboard's variables, replaced by what Grafana would put in their place.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$device": ".*"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run `make system-deps`")
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=60)


def unknown_metrics(exprs: list[str]) -> set[str]:
    """The vas_ metrics the expressions name that /metrics does not serve."""
    names = {name for expr in exprs for name in IDENTIFIER.findall(STRING.sub("", expr)) if name.startswith("vas_")}
    return {
        name for name in names if name not in METRICS and re.sub(r"_(bucket|sum|count)$", "", name) not in HISTOGRAMS
    }


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    panels = dashboard()["panels"]
    return [*panels, *(inner for panel in panels for inner in panel.get("panels", []))]


def panel_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel.get("targets", [])]


def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_pass_their_promtool_unit_tests():
    result = promtool("test", "rules", str(RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_delay_a_severity_and_says_what_is_wrong():
    alerts = [rule for rule in rules() if "alert" in rule]
    assert {alert["alert"] for alert in alerts} >= {"CameraStale", "CameraCaptureFailures", "KeeperDown"}
    for alert in alerts:
        assert alert["for"], alert["alert"]
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"], alert["alert"]


def test_the_alerts_on_a_camera_name_the_camera():
    camera_alerts = [rule for rule in rules() if "alert" in rule and rule["alert"].startswith("Camera")]
    assert camera_alerts
    for alert in camera_alerts:
        assert "{{ $labels.device }}" in alert["annotations"]["summary"], alert["alert"]
        assert "{{ $labels.device }}" in alert["annotations"]["description"], alert["alert"]


def test_the_rules_query_only_served_metrics():
    assert unknown_metrics([rule["expr"] for rule in rules()]) == set()


def test_the_dashboard_queries_only_served_metrics():
    queries = [variable["definition"] for variable in dashboard()["templating"]["list"] if variable["type"] == "query"]
    assert unknown_metrics(queries + panel_exprs()) == set()


def test_the_metric_check_sees_a_renamed_metric():
    # The two checks above must be able to fail: a renamed histogram or gauge is reported; a histogram's
    # suffix, a recording rule and a label value are not.
    exprs = [
        "histogram_quantile(0.95, rate(vas_capture_seconds_bucket[5m]))",
        "rate(vas_capture_duration_seconds_count[5m]) + device:vas_captures:rate15m",
        'vas_device_up{device="vas_x"}',
    ]
    assert unknown_metrics(exprs) == {"vas_capture_seconds_bucket", "vas_device_up"}


def test_the_dashboards_queries_are_valid_promql(tmp_path):
    # promtool parses each query as a recording rule, with the Grafana variables filled in.
    queries = []
    for expr in panel_exprs():
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        queries.append(expr)
    rules_file = tmp_path / "dashboard-queries.yml"
    recording = [{"record": f"dashboard_query_{index}", "expr": query} for index, query in enumerate(queries)]
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}))
    result = promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_the_dashboard_panels_have_unique_ids():
    ids = [panel["id"] for panel in dashboard_panels()]
    assert len(ids) == len(set(ids))


def test_the_dashboard_panels_each_have_a_place_on_the_grid():
    for panel in dashboard_panels():
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["y"] >= 0, panel["title"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]


def test_the_dashboard_chooses_its_prometheus_and_its_cameras():
    variables = {variable["name"]: variable for variable in dashboard()["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["device"]["definition"] == "label_values(vas_stored_bytes, device)"
    for panel in dashboard_panels():
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
