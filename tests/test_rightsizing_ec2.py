"""Rightsizing joined with DescribeInstances (moto's server) and shown beside Compute Optimizer (Stubber with the
documented GetEC2InstanceRecommendations shape: moto does not implement Compute Optimizer)."""

from __future__ import annotations

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from test_rightsizing_recommend import put_worked_metrics, write_bill

from finops_nb import load_charges
from finops_nb.analyses.rightsizing import compare_with_compute_optimizer
from finops_nb.commands.rightsizing import collect_rightsizing
from finops_nb.sources.ec2 import describe_instances, fetch_compute_optimizer_ec2


def launch(name: str):
    """An instance of Auto Scaling group ``name`` and one on its own (moto's server is shared by the session)."""
    ec2, asg = boto3.client("ec2", region_name="us-east-1"), boto3.client("autoscaling", region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName=f"{name}-lt",
                               LaunchTemplateData={"ImageId": ami, "InstanceType": "m5.2xlarge"})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": f"{name}-lt"},
                                  MinSize=1, MaxSize=1, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    in_group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    grouped = in_group["Instances"][0]["InstanceId"]
    alone = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m5.2xlarge",
                              TagSpecifications=[{"ResourceType": "instance",
                                                  "Tags": [{"Key": "team", "Value": "data"}]}])
    return grouped, alone["Instances"][0]["InstanceId"]


def test_describe_instances_state_group_and_tags(aws_env):
    grouped, alone = launch("web")
    gone = "i-0000000000000dead"  # in the bill, no longer in EC2
    live = describe_instances([grouped, alone, gone], region="us-east-1").set_index("instance_id")
    assert sorted(live.index) == sorted([grouped, alone])  # the missing id is absent, not an error
    assert live.loc[grouped, "auto_scaling_group"] == "web" and pd.isna(live.loc[alone, "auto_scaling_group"])
    assert (live.loc[alone, "state"], live.loc[alone, "live_instance_type"]) == ("running", "m5.2xlarge")
    assert live.loc[alone, "tags"] == {"team": "data"}


def test_recommendations_say_how_to_resize_a_group_member(tmp_path, con, aws_env):
    grouped, _ = launch("api")
    put_worked_metrics(grouped)
    t = load_charges(write_bill(tmp_path / "bill.csv", 0.384, iid=grouped), con=con).table
    r = collect_rightsizing(t, "2024-09", lookback_days=14)
    rec = r.recommendations.iloc[0]
    assert (rec.recommended_type, rec.savings_monthly) == ("m5.xlarge", pytest.approx(140.16))
    assert (rec.state, rec.auto_scaling_group) == ("running", "api")
    assert "in Auto Scaling group api: change its launch template" in rec.note
    assert r.inventory_status.startswith("EC2 DescribeInstances read: 1 of 1")


def co_recommendation(iid: str, current: str, finding: str, target: str, savings: float, risk: float,
                      memory: bool) -> dict:
    """One instanceRecommendations entry in the documented shape."""
    metrics = [{"name": "CPU", "statistic": "MAXIMUM", "value": 25.0}]
    if memory:
        metrics.append({"name": "MEMORY", "statistic": "MAXIMUM", "value": 35.0})
    return {"instanceArn": f"arn:aws:ec2:us-east-1:123456789012:instance/{iid}", "accountId": "123456789012",
            "currentInstanceType": current, "finding": finding,
            "findingReasonCodes": ["CPUOverprovisioned"] if finding == "Overprovisioned" else [],
            "utilizationMetrics": metrics, "lookBackPeriodInDays": 14.0,
            "recommendationOptions": [
                {"instanceType": target, "rank": 1, "performanceRisk": risk,
                 "platformDifferences": ["Architecture"] if target.split(".")[0].endswith("g") else [],
                 "savingsOpportunity": {"savingsOpportunityPercentage": 59.9,
                                        "estimatedMonthlySavings": {"currency": "USD", "value": savings}}},
                {"instanceType": "m5.xlarge", "rank": 2, "performanceRisk": 1.0}],
            "currentPerformanceRisk": "VeryLow"}


def test_compute_optimizer_side_by_side():
    co = boto3.client("compute-optimizer", region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="y")
    stub = Stubber(co)
    stub.add_response("get_ec2_instance_recommendations", {"nextToken": "page2", "instanceRecommendations": [
        co_recommendation("i-0aaaaaaaaaaaaaaa1", "m5.2xlarge", "Overprovisioned", "m6g.xlarge", 167.9, 1.0, False)]},
        {})
    stub.add_response("get_ec2_instance_recommendations", {"instanceRecommendations": [
        co_recommendation("i-0bbbbbbbbbbbbbbb2", "c5.large", "Optimized", "c5.large", 0.0, 0.0, True)]},
        {"nextToken": "page2"})
    with stub:
        theirs = fetch_compute_optimizer_ec2(client=co)
    stub.assert_no_pending_responses()
    assert list(theirs.instance_id) == ["i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"]  # both pages
    assert theirs.co_recommended_type.iloc[0] == "m6g.xlarge"  # rank 1, not rank 2

    ours = pd.DataFrame({
        "instance_id": ["i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"], "instance_type": ["m5.2xlarge", "c5.large"],
        "finding": ["Over-provisioned", "Optimized"], "recommended_type": ["m5.xlarge", "c5.large"],
        "savings_monthly": [140.16, 0.0], "memory_measured": [True, True]})
    side = compare_with_compute_optimizer(ours, theirs, lookback_days=32, percentile=99, headroom_pct=20)
    first, second = side.iloc[0], side.iloc[1]
    assert not first.agree and second.agree and second.why_they_differ == ""
    assert "memory measured by us only" in first.why_they_differ
    assert "lookback 14 days against our 32" in first.why_they_differ
    assert "Compute Optimizer picks arm64 (m6g.xlarge)" in first.why_they_differ
    assert (first.co_savings_monthly, first.savings_monthly) == (167.9, 140.16)
