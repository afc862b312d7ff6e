"""DMS replication task events through EventBridge to the alarm topic: a task that stops or fails is reported.

AWS DMS (3.4.5 and later) sends ``DMS Replication Task State Change`` events to EventBridge; the rule matches
those of one task (``resources``: its ARN) whose ``detail.eventType`` is ``REPLICATION_TASK_STOPPED`` or
``REPLICATION_TASK_FAILED`` and targets the SNS topic. EventBridge may publish to the topic only through the
topic's resource policy (``events.amazonaws.com``, limited to this rule by ``aws:SourceArn``) and, for an
encrypted topic, the topic key's policy (``EncryptionKeyProps.eventbridge``). The topic policy replaces SNS's
default one, so it also keeps what that allowed: the owning account administers the topic, and CloudWatch
alarms of the account publish to it.

Follows: https://docs.aws.amazon.com/dms/latest/userguide/CHAP_EventBridge.html,
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-dms.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions and
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/cloudwatch_event_rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from constructs import Construct

from modules.iam import policy_document

TASK_STATE_CHANGE = "DMS Replication Task State Change"
ALERTING_EVENT_TYPES = ("REPLICATION_TASK_STOPPED", "REPLICATION_TASK_FAILED")
TOPIC_OWNER_ACTIONS = ["sns:AddPermission", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
                       "sns:Publish", "sns:RemovePermission", "sns:SetTopicAttributes", "sns:Subscribe"]
"""What SNS's default topic policy grants the owning account."""


def task_event_pattern(task_arn: str) -> dict[str, Any]:
    """EventBridge event pattern: ``ALERTING_EVENT_TYPES`` state changes of the DMS task ``task_arn``."""
    return {"source": ["aws.dms"], "detail-type": [TASK_STATE_CHANGE], "resources": [task_arn],
            "detail": {"eventType": list(ALERTING_EVENT_TYPES)}}


@dataclass(frozen=True)
class DmsTaskEventsProps:
    """Props of ``DmsTaskEvents``.

    Attributes:
        rule_name: EventBridge rule name (1-64 characters).
        task_arn: ARN of the DMS replication task whose events are reported.
        topic_arn: SNS topic the events go to (the migration's alarm topic).
    """

    rule_name: str
    task_arn: str
    topic_arn: str


class DmsTaskEvents(Construct):
    """EventBridge rule and SNS target for the task's stop/failure events, and the topic's resource policy.

    Attributes: ``rule`` (CloudwatchEventRule), ``target``, ``topic_policy`` (SnsTopicPolicy).
    """

    def __init__(self, scope: Construct, id_: str, props: DmsTaskEventsProps):
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition
        self.rule = CloudwatchEventRule(
            self, "rule", name=props.rule_name, event_pattern=json.dumps(task_event_pattern(props.task_arn)),
            description="DMS replication task stopped or failed: notify the migration alarm topic")
        self.target = CloudwatchEventTarget(self, "target", rule=self.rule.name, arn=props.topic_arn,
                                            target_id="alarm-topic")
        self.topic_policy = SnsTopicPolicy(self, "topic-policy", arn=props.topic_arn, policy=policy_document([
            {"Sid": "AccountAdministration", "Effect": "Allow",
             "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": TOPIC_OWNER_ACTIONS,
             "Resource": props.topic_arn},
            {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": "sns:Publish", "Resource": props.topic_arn,
             "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
            {"Sid": "DmsTaskEvents", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
             "Action": "sns:Publish", "Resource": props.topic_arn,
             "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}}},
        ]))
