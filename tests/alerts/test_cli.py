"""`governor alerts …` as a user types it: list, ack, resolve, test; exit codes and JSON."""

import json

from tests.alerts.conftest import SECRETS, RaiseAlert
from tests.conftest import Cli, Configure
from tests.support.receivers import HTTPReceiver


def test_list_ack_resolve(migrated, cli: Cli, raise_: RaiseAlert):
    alert_id = raise_()
    listed = json.loads(cli("alerts", "list", "--json").stdout)
    assert [(a["id"], a["status"], a["notified_severity"]) for a in listed] == [
        (alert_id, "open", None)
    ]
    plain = cli("alerts", "list").stdout
    assert f"{alert_id}  medium (5)  open  count 1, last seen" in plain and "not notified" in plain

    acked = cli("alerts", "ack", alert_id)
    assert (acked.exit_code, acked.stdout.strip()) == (0, f"{alert_id}: acknowledged")
    assert cli("alerts", "list").stdout.strip() == "No open alerts."
    shown = json.loads(cli("alerts", "list", "--status", "acknowledged", "--json").stdout)
    assert [a["id"] for a in shown] == [alert_id]

    for _ in range(2):  # resolving twice is fine
        resolved = cli("alerts", "resolve", alert_id)
        assert (resolved.exit_code, resolved.stdout.strip()) == (0, f"{alert_id}: resolved")
    assert [a["status"] for a in json.loads(cli("alerts", "list", "--status", "all",
                                                    "--json").stdout)] == ["resolved"]  # fmt: skip


def test_bad_ids_and_statuses_exit_2(migrated, cli: Cli, raise_: RaiseAlert):
    alert_id = raise_()
    cli("alerts", "resolve", alert_id)
    for args, message in [
        (["alerts", "ack", "alert_nope"], "No alert alert_nope"),
        (["alerts", "resolve", "alert_nope"], "No alert alert_nope"),
        (["alerts", "ack", alert_id], "is resolved"),
        (["alerts", "list", "--status", "closed"], "closed"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert "hint:" in cli("alerts", "ack", "alert_nope").stderr


def test_test_sends_to_every_destination(
    cli: Cli, configure: Configure, receiver: HTTPReceiver, json_url: str, mail_url: str,
    dead_url: str,
):  # fmt: skip
    configure(alert_urls=f"{json_url},{mail_url}")
    result = cli("alerts", "test")
    assert result.exit_code == 0, result.stderr
    assert f"delivered json://127.0.0.1:{receiver.port}/… (1 attempt)" in result.stdout
    assert "delivered mailto://127.0.0.1:" in result.stdout

    configure(alert_urls=f"{dead_url} {json_url}")
    result = cli("alerts", "test", "--json")
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert [(r["delivered"], r["destination"]) for r in outcome] == [
        (False, f"json://127.0.0.1:{dead_url.split(':')[2].split('/')[0]}/…"),
        (True, f"json://127.0.0.1:{receiver.port}/…"),
    ]
    assert "Connection error" in outcome[0]["error"]
    failed = cli("alerts", "test")
    assert failed.exit_code == 1 and "failed" in failed.stdout
    for shown in (result, failed):
        assert all(s not in shown.stdout + shown.stderr for s in SECRETS)


def test_test_without_destinations_exits_2_with_a_hint(cli: Cli):
    result = cli("alerts", "test")
    assert result.exit_code == 2
    assert "GOVERNOR_ALERT_URLS is not set" in result.stderr
    assert "hint: Set GOVERNOR_ALERT_URLS" in result.stderr
