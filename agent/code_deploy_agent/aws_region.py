"""The region as AWS (or the emulator: boto3 reads AWS_ENDPOINT_URL) gives it: the fleet table in DynamoDB,
the builds bucket in S3. One instance serves every agent of a fleet (boto3 clients are thread-safe)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from code_deploy_agent.host_item import goal_key, host_key
from code_deploy_agent.p2p import Peer
from code_deploy_agent.region import RegionError

MISSING_OBJECT_CODES = {"404", "NoSuchKey", "NotFound"}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamodb(value: Any) -> Any:
    """floats as Decimals (DynamoDB's numbers), inside maps and lists too."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {key: _to_dynamodb(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamodb(inner) for inner in value]
    return value


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class AwsRegion:
    def __init__(self, region: str, table: str, bucket: str, *, max_connections: int = 10) -> None:
        session = boto3.session.Session(region_name=region)
        client_config = Config(retries={"mode": "standard"}, max_pool_connections=max_connections)
        self.table = table
        self.bucket = bucket
        self._dynamodb = session.client("dynamodb", config=client_config)
        self._s3 = session.client("s3", config=client_config)

    def read_goal(self, group_shard: str) -> dict[str, Any] | None:
        try:
            answer = self._dynamodb.get_item(TableName=self.table, Key={"pk": {"S": goal_key(group_shard)}})
        except (BotoCoreError, ClientError) as error:
            raise RegionError(f"reading {goal_key(group_shard)}: {error}") from error
        item = answer.get("Item")
        return {name: _deserializer.deserialize(value) for name, value in item.items()} if item else None

    def update_host(self, host_id: str, attributes: Mapping[str, Any]) -> None:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for index, (name, value) in enumerate(attributes.items()):
            names[f"#a{index}"] = name
            if value is None:
                removes.append(f"#a{index}")
            else:
                values[f":v{index}"] = _serializer.serialize(_to_dynamodb(value))
                sets.append(f"#a{index} = :v{index}")
        clauses = [f"SET {', '.join(sets)}"] if sets else []
        if removes:
            clauses.append(f"REMOVE {', '.join(removes)}")
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": {"S": host_key(host_id)}},
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": names,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._dynamodb.update_item(**request)
        except (BotoCoreError, ClientError) as error:
            raise RegionError(f"updating {host_key(host_id)}: {error}") from error

    def object_size(self, key: str) -> int | None:
        head = self._unless_missing(key, lambda: self._s3.head_object(Bucket=self.bucket, Key=key))
        return None if head is None else int(head["ContentLength"])

    def read_range(self, key: str, first: int, last: int) -> bytes:
        try:
            answer = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={first}-{last}")
            return answer["Body"].read()
        except (BotoCoreError, ClientError) as error:
            raise RegionError(f"s3://{self.bucket}/{key} bytes {first}-{last}: {error}") from error

    def read_object(self, key: str) -> bytes | None:
        return self._unless_missing(key, lambda: self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def _unless_missing[T](self, key: str, read: Callable[[], T]) -> T | None:
        """What `read` of the object `key` answers; None where the object is not there, RegionError for any
        other failure."""
        try:
            return read()
        except ClientError as error:
            if _error_code(error) in MISSING_OBJECT_CODES:
                return None
            raise RegionError(f"s3://{self.bucket}/{key}: {error}") from error
        except BotoCoreError as error:
            raise RegionError(f"s3://{self.bucket}/{key}: {error}") from error

    def presigned_url(self, key: str, seconds: int) -> str:
        return str(
            self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds)
        )


class AwsPeerDirectory:
    """The region's swarm directory, the peers table (code_deploy_agent.p2p.PeerDirectory)."""

    def __init__(self, region: str, table: str, *, max_connections: int = 10) -> None:
        session = boto3.session.Session(region_name=region)
        client_config = Config(retries={"mode": "standard"}, max_pool_connections=max_connections)
        self.table = table
        self._dynamodb = session.client("dynamodb", config=client_config)

    def announce(self, key: str, sort_key: str, peer: Peer, expires_at: int) -> None:
        item = {
            "pk": {"S": key},
            "sk": {"S": sort_key},
            "hostId": {"S": peer.host_id},
            "address": {"S": peer.address},
            "port": {"N": str(peer.port)},
            "zone": {"S": peer.zone},
            "seed": {"BOOL": peer.seed},
            "expiresAt": {"N": str(expires_at)},
        }
        self._call(f"announcing in {key}", lambda: self._dynamodb.put_item(TableName=self.table, Item=item))

    def leave(self, key: str, sort_key: str) -> None:
        self._call(
            f"leaving {key}",
            lambda: self._dynamodb.delete_item(TableName=self.table, Key={"pk": {"S": key}, "sk": {"S": sort_key}}),
        )

    def find(self, key: str, start: str, limit: int) -> list[Peer]:
        """From `start` on, then from the beginning up to it: a random window of the key's peers. Expired
        announcements (TTL deletes them within a day or two, not at once) are skipped."""
        now = int(time.time())
        peers = self._query(key, "pk = :pk AND sk >= :start", start, limit, now)
        if len(peers) < limit:
            peers += self._query(key, "pk = :pk AND sk < :start", start, limit - len(peers), now)
        return peers

    def _query(self, key: str, condition: str, start: str, limit: int, now: int) -> list[Peer]:
        answer = self._call(
            f"finding peers in {key}",
            lambda: self._dynamodb.query(
                TableName=self.table,
                KeyConditionExpression=condition,
                FilterExpression="expiresAt > :now",
                ExpressionAttributeValues={":pk": {"S": key}, ":start": {"S": start}, ":now": {"N": str(now)}},
                Limit=limit,
            ),
        )
        return [
            Peer(
                host_id=item["hostId"]["S"],
                address=item["address"]["S"],
                port=int(item["port"]["N"]),
                zone=item["zone"]["S"],
                seed=item.get("seed", {}).get("BOOL", False),
            )
            for item in answer.get("Items", [])
        ]

    def claim_origin(self, key: str, slot: int, host_id: str, *, now: int, expires_at: int) -> bool:
        try:
            self._dynamodb.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": key},
                    "sk": {"S": f"{slot:02d}"},
                    "holder": {"S": host_id},
                    "expiresAt": {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now OR holder = :me",
                ExpressionAttributeValues={":now": {"N": str(now)}, ":me": {"S": host_id}},
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise RegionError(f"claiming {key} slot {slot}: {error}") from error
        except BotoCoreError as error:
            raise RegionError(f"claiming {key} slot {slot}: {error}") from error
        return True

    def release_origin(self, key: str, slot: int, host_id: str) -> None:
        try:
            self._dynamodb.delete_item(
                TableName=self.table,
                Key={"pk": {"S": key}, "sk": {"S": f"{slot:02d}"}},
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": host_id}},
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":  # someone else's now: leave it
                raise RegionError(f"releasing {key} slot {slot}: {error}") from error
        except BotoCoreError as error:
            raise RegionError(f"releasing {key} slot {slot}: {error}") from error

    def _call[T](self, doing: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (BotoCoreError, ClientError) as error:
            raise RegionError(f"{doing}: {error}") from error
