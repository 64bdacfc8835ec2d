"""Gate alarms: an alarm's SNS action (the gate-alarms topic). A deployment naming an alarm that went
into ALARM has its baking regions woken, and their gate fails at once (code_deploy.deployments.waits)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.deployments import waits

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
settings = environment.lazy_settings("GateAlarmsSettings")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> dict:
    woken: dict[str, int] = {}
    for record in event.records:
        change = json.loads(record.sns.message)  # CloudWatch's alarm notification
        if change.get("NewStateValue") != "ALARM":
            continue
        alarm = change["AlarmName"]
        table = aws.dynamodb().Table(settings().deployments_table)
        woken[alarm] = waits.wake_for_alarm(aws.stepfunctions(), table, alarm)
        logger.info("alarm in ALARM", extra={"alarm": alarm, "woken": woken[alarm]})
    return {"woken": woken}
