"""An agent joins a service by naming it: its group is the service's (`<service>/<group>` in the region), and
where the region does not run the service it is refused at registration, saying why (moto)."""

from __future__ import annotations

import boto3
import pytest

from code_deploy_agent.agent import Agent
from code_deploy_agent.aws_region import AwsRegion
from code_deploy_agent.config import AgentConfig, ConfigError, check_config

REGION = "us-east-1"
TABLE = "sam-code-deploy-us-east-1-fleet"


@pytest.fixture
def fleet(aws):
    return boto3.resource("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )


def config(tmp_path, service: str = "default", group: str = "web") -> AgentConfig:
    return check_config(AgentConfig(REGION, group, "host-1", TABLE, "no-bucket", tmp_path / "host-1", service=service))


def test_a_services_group_is_named_within_it_and_the_defaults_as_before(tmp_path):
    assert config(tmp_path, "checkout").group == "checkout/web"
    assert check_config(config(tmp_path, "checkout")).group == "checkout/web"  # checked twice, named once
    assert config(tmp_path).group == "web"
    with pytest.raises(ConfigError, match="not a service name"):
        config(tmp_path, "Checkout")
    with pytest.raises(ConfigError, match="--service names"):
        config(tmp_path, "checkout", "other/web")


def test_registering_for_a_service_the_region_does_not_run_is_refused_with_the_reason(fleet, tmp_path):
    agent = Agent(config(tmp_path, "checkout"), AwsRegion(REGION, TABLE, "no-bucket"))
    try:
        with pytest.raises(ConfigError, match="service checkout does not run in us-east-1"):
            agent.register()
        assert fleet.get_item(Key={"pk": "HOST#host-1"}).get("Item") is None
        # Once POST /services has created it in the region, the host joins it
        fleet.put_item(Item={"pk": "SERVICE#checkout", "service": "checkout"})
        agent.register()
        item = fleet.get_item(Key={"pk": "HOST#host-1"})["Item"]
        assert (item["service"], item["group"], item["groupShard"].rpartition("#")[0]) == (
            "checkout",
            "checkout/web",
            "checkout/web",
        )
    finally:
        agent.close()


def test_a_default_host_registers_without_any_service_item(fleet, tmp_path):
    agent = Agent(config(tmp_path), AwsRegion(REGION, TABLE, "no-bucket"))
    try:
        agent.register()
        assert fleet.get_item(Key={"pk": "HOST#host-1"})["Item"]["group"] == "web"
    finally:
        agent.close()
