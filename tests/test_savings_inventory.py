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
