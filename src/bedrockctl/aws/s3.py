"""S3 helpers that need to tell AWS answers apart (kept here: only ``aws/`` handles botocore's exceptions)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bedrockctl.aws.errors import aws_errors


def put_lifecycle_rule(s3: Any, bucket: str, rule: dict[str, Any]) -> dict[str, Any]:
    """Add ``rule`` to the bucket's lifecycle configuration, replacing a rule with the same ``ID`` and keeping every
    other rule as it is (a bucket without a configuration gets one)."""
    with aws_errors(service="s3", operation="PutBucketLifecycleConfiguration"):
        try:
            rules = list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        rules = [r for r in rules if r.get("ID") != rule["ID"]] + [rule]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    return rule
