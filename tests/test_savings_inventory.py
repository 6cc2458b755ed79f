"""Idle findings confirmed with EC2's inventory (moto's server on 127.0.0.1 through AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json

import boto3

from finops_nb.cli import main

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ResourceId,SubAccountId,x_UsageType,ConsumedQuantity,ConsumedUnit,ListCost,EffectiveCost,BilledCost\n")
MAR = "USD,2025-03-01,2025-03-01,2025-04-01,Usage,Amazon EC2"
ARN = "arn:aws:ec2:us-east-1:123456789012"


def test_inventory_confirms_released_and_associated_addresses_and_deleted_gateways(aws_env, tmp_path, capsys):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    idle = ec2.allocate_address(Domain="vpc")
    used = ec2.allocate_address(Domain="vpc")
    gone = ec2.allocate_address(Domain="vpc")
    ec2.release_address(AllocationId=gone["AllocationId"])
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.associate_address(AllocationId=used["AllocationId"], NetworkInterfaceId=eni)
    nat_eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=nat_eip)["NatGateway"]["NatGatewayId"]
    rows = [
        f"{MAR},{ARN}:elastic-ip/{idle['AllocationId']},acct,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,3.72",
        f"{MAR},{used['PublicIp']},acct,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,3.72",  # CUR: the IP
        f"{MAR},{ARN}:elastic-ip/{gone['AllocationId']},acct,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,3.72",
        f"{MAR},{ARN}:natgateway/{nat},acct,USE1-NatGateway-Hours,744,Hours,33.48,33.48,33.48",
        f"{MAR},{ARN}:natgateway/nat-0123456789abcdef0,acct,USE1-NatGateway-Hours,744,Hours,33.48,33.48,33.48",
    ]
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    assert main(["savings", "--data", str(f), "--month", "2025-03", "--json", "--inventory", "on"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    found = {r["ResourceId"].rsplit("/", 1)[-1]: r["inventory"] for r in findings}
    assert found[idle["AllocationId"]] == "idle (confirmed)"
    assert found[used["PublicIp"]] == "in use now"
    assert found[gone["AllocationId"]] == "released"
    assert found[nat].startswith("exists (")
    assert found["nat-0123456789abcdef0"] == "deleted"  # EC2 does not list it


def test_inventory_off_by_default(tmp_path, capsys):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + f"{MAR},{ARN}:elastic-ip/eipalloc-1,acct,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,"
                 "3.72\n")
    assert main(["savings", "--data", str(f), "--month", "2025-03", "--json"]) == 0
    assert "inventory" not in json.loads(capsys.readouterr().out)["findings"][0]


def test_unattached_volumes_found_through_describe_volumes(aws_env, tmp_path, capsys):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    loose = ec2.create_volume(AvailabilityZone="us-east-1a", Size=100, VolumeType="gp3")["VolumeId"]
    attached = ec2.create_volume(AvailabilityZone="us-east-1a", Size=100, VolumeType="gp3")["VolumeId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    ec2.attach_volume(VolumeId=attached, InstanceId=instance, Device="/dev/sdf")
    # 100 GB of gp3 at 0.08 = 8.00 a month each, at 90 % of list: 7.20; a third volume no longer exists
    rows = [f"{MAR},{ARN}:volume/{v},acct,USE1-EBS:VolumeUsage.gp3,100,GB-Mo,8.00,7.20,7.20"
            for v in (loose, attached, "vol-0123456789abcdef0")]
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    assert main(["savings", "--data", str(f), "--month", "2025-03", "--json", "--inventory", "on"]) == 0
    doc = json.loads(capsys.readouterr().out)
    found = [r for r in doc["findings"] if r["check"] == "unattached EBS volume"]
    assert [(r["ResourceId"].rsplit("/", 1)[-1], r["monthly_savings"], r["inventory"]) for r in found] == [
        (loose, 7.20, "unattached (confirmed)")]  # deleting it saves its whole effective cost
    once = next(r for r in doc["totals"] if r["check"].startswith("all checks"))
    assert once["monthly_savings"] >= 7.20
    # off by default: the bill alone cannot tell an unattached volume
    assert main(["savings", "--data", str(f), "--month", "2025-03", "--json"]) == 0
    assert not [r for r in json.loads(capsys.readouterr().out)["findings"] if r["check"] == "unattached EBS volume"]
