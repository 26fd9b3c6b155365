"""The cost report, the budget and the idle-stop schedule against the emulator, in order: `site.yml --tags
infra,cost` builds the environment with a budget and both schedules, read back with boto3; the report's files
are written from the offline price table (the emulator has no Pricing API); a rerun changes nothing; a new
amount updates the budget in place (its notifications kept); --tags stop / start stop and start the research
hosts only; a schedule set to "" loses its rule; teardown removes the rules, the role and the budget and records
them. The emulator runs no schedule: EventBridge never fires here, so the rules' targets are what is tested."""

from __future__ import annotations

import json
import re

import pytest
from awsstate import ACCOUNT, all_resources
from emulator import Emulator
from envbuild import env_vars, only_record
from helpers import REPO, run_playbook

pytestmark = pytest.mark.integration

ENV = "costs"
ARTIFACTS = REPO / "artifacts" / ENV
BUDGET = f"research-env-{ENV}-us-east-1"
ROLE = f"{ENV}-idle-stop"
EMAILS = ["pi@example.org", "admin@example.org"]
STOP, START = "cron(0 20 * * ? *)", "cron(0 7 ? * MON-FRI *)"


@pytest.fixture(scope="module")
def env(emulator_env, ssh_key):
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    for name in ("cost.json", "cost.md", "cost.png"):
        (ARTIFACTS / name).unlink(missing_ok=True)
    extra = env_vars(
        ssh_key,
        env_name=ENV,
        budget_monthly_usd=100,
        budget_emails=EMAILS,
        stop_schedule=STOP,
        start_schedule=START,
        research_team=[{"username": "alice"}, {"username": "bob"}],
    )
    run = run_playbook("site.yml", "--tags", "infra,cost", extra_vars=extra, env=emulator_env)
    assert run.rc == 0, run.explain()
    return {"extra": extra, "output": run.output}


def hosts(ec2) -> dict[str, dict]:
    found = ec2.describe_instances(Filters=[{"Name": "tag:Environment", "Values": [ENV]}])["Reservations"]
    return {
        {t["Key"]: t["Value"] for t in i["Tags"]}["Role"]: i
        for r in found
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    }


def notifications(budgets) -> dict[tuple, list[str]]:
    found = budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=BUDGET)["Notifications"]
    return {
        (n["NotificationType"], float(n["Threshold"])): sorted(
            s["Address"]
            for s in budgets.describe_subscribers_for_notification(
                AccountId=ACCOUNT, BudgetName=BUDGET, Notification=n
            )["Subscribers"]
        )
        for n in found
    }


class TestCost:
    def test_the_budget_watches_the_environment_tag_with_four_alerts(self, env, aws):
        budget = aws["budgets"].describe_budget(AccountId=ACCOUNT, BudgetName=BUDGET)["Budget"]
        assert float(budget["BudgetLimit"]["Amount"]) == 100 and budget["BudgetLimit"]["Unit"] == "USD"
        assert (budget["TimeUnit"], budget["BudgetType"]) == ("MONTHLY", "COST")
        assert budget["CostFilters"] == {"TagKeyValue": [f"user:Environment${ENV}"], "Region": ["us-east-1"]}
        assert notifications(aws["budgets"]) == {
            ("ACTUAL", 50.0): sorted(EMAILS),
            ("ACTUAL", 90.0): sorted(EMAILS),
            ("ACTUAL", 95.0): sorted(EMAILS),
            ("FORECASTED", 100.0): sorted(EMAILS),
        }

    def test_the_rules_run_the_runbooks_on_the_research_hosts_only(self, env, aws):
        ids = sorted(h["InstanceId"] for role, h in hosts(aws["ec2"]).items() if role in ("jupyter", "filegator"))
        assert len(ids) == 2
        role_arn = aws["iam"].get_role(RoleName=ROLE)["Role"]["Arn"]
        for name, cron, runbook in ((f"{ENV}-stop-hosts", STOP, "AWS-StopEC2Instance"),
                                    (f"{ENV}-start-hosts", START, "AWS-StartEC2Instance")):  # fmt: skip
            rule = aws["events"].describe_rule(Name=name)
            assert (rule["ScheduleExpression"], rule["State"]) == (cron, "ENABLED")
            (target,) = aws["events"].list_targets_by_rule(Rule=name)["Targets"]
            assert target["Arn"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:automation-definition/{runbook}:$DEFAULT"
            assert target["RoleArn"] == role_arn
            assert json.loads(target["Input"]) == {"InstanceId": ids, "AutomationAssumeRole": [role_arn]}

    def test_the_role_may_stop_and_start_this_environments_hosts_only(self, env, aws):
        iam = aws["iam"]
        role = iam.get_role(RoleName=ROLE)["Role"]
        assert role["Path"] == f"/research-env/{ENV}/"
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert sorted(trust["Principal"]["Service"]) == ["events.amazonaws.com", "ssm.amazonaws.com"]
        doc = iam.get_role_policy(RoleName=ROLE, PolicyName="idle-stop")["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        found = {s["Sid"]: s for s in doc["Statement"]}
        hosts_statement = found["StopAndStartThisEnvironmentsHosts"]
        assert sorted(hosts_statement["Action"]) == ["ec2:StartInstances", "ec2:StopInstances"]
        assert hosts_statement["Condition"] == {"StringEquals": {"aws:ResourceTag/Environment": ENV}}
        assert found["PassItselfToAutomation"]["Resource"] == role["Arn"]
        assert all(
            "*" not in a
            for s in doc["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )

    def test_the_report_prices_the_environment_from_the_offline_table(self, env):
        report = json.loads((ARTIFACTS / "cost.json").read_text())
        assert "offline table" in report["price_source"]
        types = [row["instance_type"] for row in report["comparisons"]["instance_types"]]
        assert types[0] == "t3.large" and len(types) >= 3
        assert report["total"]["monthly_usd"] > 0
        # Each is rounded to cents from the same figure: a cent apart at most.
        assert report["total"]["period_usd"] == pytest.approx(report["total"]["monthly_usd"] * 3, abs=0.015)
        assert report["comparisons"]["schedule"]["monthly_saving_usd"] > 0
        md = (ARTIFACTS / "cost.md").read_text()
        assert "t3.large" in md and "|" in md
        assert (ARTIFACTS / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # The run prints it too (the YAML callback may fold a long line).
        assert re.search(
            r"This\s+configuration:\s+USD\s+[\d.,]+\s+a\s+month,\s+USD\s+[\d.,]+\s+over\s+3\s+months", env["output"]
        )

    def test_a_rerun_changes_nothing(self, env, emulator_env):
        run = run_playbook("site.yml", "--tags", "infra,cost", extra_vars=env["extra"], env=emulator_env)
        assert run.rc == 0, run.explain()
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", run.output), run.explain()

    def test_a_new_amount_updates_the_budget_in_place(self, env, aws, emulator_env):
        more = dict(env["extra"], budget_monthly_usd=150)
        run = run_playbook("site.yml", "--tags", "cost", extra_vars=more, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert re.search(r"localhost\s+: ok=\d+\s+changed=1 ", run.output), run.explain()
        budget = aws["budgets"].describe_budget(AccountId=ACCOUNT, BudgetName=BUDGET)["Budget"]
        assert float(budget["BudgetLimit"]["Amount"]) == 150
        assert len(notifications(aws["budgets"])) == 4
        env["extra"] = more

    def test_stop_and_start_act_on_the_research_hosts_only(self, env, aws, emulator_env):
        run = run_playbook("site.yml", "--tags", "stop", extra_vars=env["extra"], env=emulator_env)
        assert run.rc == 0, run.explain()
        states = {role: h["State"]["Name"] for role, h in hosts(aws["ec2"]).items()}
        assert states == {"jupyter": "stopped", "filegator": "stopped", "vpn": "running", "voila": "running"}
        run = run_playbook("site.yml", "--tags", "start", extra_vars=env["extra"], env=emulator_env)
        assert run.rc == 0, run.explain()
        assert {h["State"]["Name"] for h in hosts(aws["ec2"]).values()} == {"running"}

    def test_a_schedule_set_to_nothing_loses_its_rule(self, env, aws, emulator_env):
        no_start = dict(env["extra"], start_schedule="")
        run = run_playbook("site.yml", "--tags", "schedule", extra_vars=no_start, env=emulator_env)
        assert run.rc == 0, run.explain()
        names = [r["Name"] for r in aws["events"].list_rules(NamePrefix=f"{ENV}-")["Rules"]]
        assert names == [f"{ENV}-stop-hosts"]
        env["extra"] = no_start

    def test_teardown_removes_the_rules_the_role_and_the_budget(self, env, aws, emulator_env, tmp_path):
        before = all_resources(aws, ENV)
        assert before["event_rule"] == [f"{ENV}-stop-hosts"] and before["budget"] == [BUDGET]
        assert ROLE in before["iam_role"]
        run = run_playbook("playbooks/teardown.yml", extra_vars={"env_name": ENV, "records_dir": str(tmp_path)},
                           env=emulator_env)  # fmt: skip
        assert run.rc == 0, run.explain()
        assert all_resources(aws, ENV) == {}
        record = only_record(tmp_path, ENV)
        kinds = [r["type"] for r in record["resources"]]
        assert kinds[0] == "event_rule" and kinds[-1] == "budget"
        rule = record["resources"][0]
        assert rule["result"] == "deleted" and rule["details"]["schedule"] == STOP
        assert record["resources"][-1]["result"] == "deleted"
