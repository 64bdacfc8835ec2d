"""What the stacks keep and for how long (issue 20, growth without bound): host records expire by the
host-deployment-logs table's TTL; the buckets' lifecycle rules expire old versions, abandoned uploads
and the artifacts no region's goal names any more."""

from __future__ import annotations

from capacity.templates import REPO, load_template
from code_deploy.hosts import records as host_logs

REGIONAL = load_template(REPO / "regional.yaml")


def test_host_records_expire_by_the_tables_ttl_after_the_stacks_retention():
    table = REGIONAL["Resources"]["HostDeploymentLogsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": host_logs.EXPIRES_AT, "Enabled": True}
    sync = REGIONAL["Resources"]["RegionalSyncFunction"]["Properties"]["Environment"]["Variables"]
    assert sync["HOST_RECORD_RETENTION_DAYS"] == {"Ref": "HostRecordRetentionDays"}
    assert REGIONAL["Parameters"]["HostRecordRetentionDays"]["Default"] == 30
