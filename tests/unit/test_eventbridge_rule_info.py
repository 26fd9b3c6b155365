"""plugins/modules/eventbridge_rule_info.py against moto in-process: rules found by prefix and exact names, with
their targets, pages followed."""

from __future__ import annotations

import functools

import boto3
import pytest
from modules import REGION, ansible_doc, load_module, run_module
from moto import mock_aws

m = load_module("eventbridge_rule_info")
run_main = functools.partial(run_module, m)
TARGET = "arn:aws:ssm:us-east-1:123456789012:automation-definition/AWS-StopEC2Instance:$DEFAULT"


@pytest.fixture
def events(aws_env):
    with mock_aws():
        client = boto3.client("events", region_name=REGION)
        client.put_rule(Name="e-stop-hosts", ScheduleExpression="cron(0 20 * * ? *)")
        client.put_targets(Rule="e-stop-hosts", Targets=[{"Id": "stop-hosts", "Arn": TARGET, "Input": "{}"}])
        client.put_rule(Name="e-start-hosts", ScheduleExpression="cron(0 7 ? * MON-FRI *)", State="DISABLED")
        client.put_rule(Name="e-other", ScheduleExpression="rate(1 hour)")
        client.put_rule(Name="else-stop-hosts", ScheduleExpression="rate(1 hour)")
        yield client


def test_rules_by_prefix_and_names_with_their_targets(events, capsys):
    rc, out = run_main({"name_prefix": "e-", "names": ["e-stop-hosts", "e-start-hosts"]}, capsys)
    assert rc == 0 and not out["changed"]
    assert [r["name"] for r in out["rules"]] == ["e-start-hosts", "e-stop-hosts"]
    start, stop = out["rules"]
    assert (start["state"], start["targets"]) == ("DISABLED", [])
    assert stop["schedule_expression"] == "cron(0 20 * * ? *)"
    assert stop["targets"] == [{"id": "stop-hosts", "arn": TARGET, "input": "{}"}]
    # One ListRules, one ListTargetsByRule per rule kept.
    assert out["api_calls"] == 3


def test_a_prefix_alone_lists_every_rule_it_starts(events, capsys):
    rc, out = run_main({"name_prefix": "e-"}, capsys)
    assert rc == 0 and [r["name"] for r in out["rules"]] == ["e-other", "e-start-hosts", "e-stop-hosts"]


def test_nothing_found_is_an_empty_list(events, capsys):
    rc, out = run_main({"name_prefix": "none-", "names": ["none-stop-hosts"]}, capsys)
    assert rc == 0 and out["rules"] == [] and out["api_calls"] == 1


def test_pages_are_followed(events, capsys):
    for i in range(120):
        events.put_rule(Name=f"p-{i:03d}", ScheduleExpression="rate(1 hour)")
    rc, out = run_main({"name_prefix": "p-", "names": ["p-000", "p-119"]}, capsys)
    assert rc == 0 and [r["name"] for r in out["rules"]] == ["p-000", "p-119"]


def test_the_documentation_renders():
    doc = ansible_doc("eventbridge_rule_info")
    assert set(doc["doc"]["options"]) >= {"name_prefix", "names"}
