"""``usage ingest --batch-output``: a job folder without its job, or whose records disagree with the manifest, is
reported; a job read once is not read again; the usage of each kind of ``modelOutput`` body is counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrockctl.analytics.batch import usage_of
from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.store import UsageStore

JOB_ARN = "arn:aws:bedrock:us-west-2:111122223333:model-invocation-job/abc123def456"


def job_folder(root: Path, name: str, *, manifest_input: int, with_job: bool = True) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if with_job:
        job = {
            "jobArn": JOB_ARN.replace("abc123def456", name),
            "modelId": "amazon.nova-lite-v1:0",
            "submitTime": "2026-03-01T08:00:00Z",
        }
        (folder / "job.json").write_text(json.dumps(job))
    lines = [
        {"recordId": "R1", "modelInput": {}, "modelOutput": {"usage": {"inputTokens": 10, "outputTokens": 4}}},
        {"recordId": "R2", "modelInput": {}, "modelOutput": {"usage": {"inputTokens": 30, "outputTokens": 6}}},
    ]
    (folder / "in.jsonl.out").write_text("".join(json.dumps(x) + "\n" for x in lines))
    manifest = {"totalRecordCount": 2, "inputTokenCount": manifest_input, "outputTokenCount": 10}
    (folder / "manifest.json.out").write_text(json.dumps(manifest))
    return folder


def test_bad_jobs_are_reported_and_a_job_is_read_once(tmp_path: Path) -> None:
    root = tmp_path / "out"
    job_folder(root, "good00000001", manifest_input=40)
    job_folder(root, "diff00000002", manifest_input=41)  # the manifest says otherwise: reported, records kept
    job_folder(root, "nojob0000003", manifest_input=40, with_job=False)
    (job_folder(root, "badmf0000004", manifest_input=40) / "manifest.json.out").write_text("{not json")
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, [f"batch:{root}"], progress=False)
    assert rep.new_invocations == 6 and rep.bad_records == 3  # a manifest that is not JSON: records kept, reported
    reasons = {(Path(b.origin).parent.name, Path(b.origin).name): b.reason for b in rep.bad}
    assert "differ from the manifest's (input 41" in reasons[("diff00000002", "manifest.json.out")]
    assert "not a batch manifest" in reasons[("badmf0000004", "manifest.json.out")]
    assert "no job.json" in next(r for (_, name), r in reasons.items() if name == "nojob0000003")
    con = store.connect()
    rows = con.execute(
        'SELECT request_id, region, account_id, service_tier, source, input_tokens, "timestamp" FROM invocations '
        "ORDER BY request_id"
    ).fetchall()
    con.close()
    assert rows[2][:6] == ("diff00000002:R1", "us-west-2", "111122223333", "batch", "batch_output", 10)
    assert str(rows[2][6]) == "2026-03-01 08:00:00"  # no end time in the job: its submit time
    again = ingest(store, [f"batch:{root}"], progress=False)
    assert again.units_skipped == 4 and again.new_invocations == 0


@pytest.mark.parametrize(
    ("body", "want"),
    [
        (
            {"usage": {"inputTokens": 5, "outputTokens": 2, "cacheReadInputTokens": 7, "cacheWriteInputTokens": 1}},
            (5, 2, 7, 1),
        ),
        ({"usage": {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 3}}, (5, 2, 3, 0)),
        ({"usage": {"prompt_tokens": 8, "completion_tokens": 9}}, (8, 9, 0, 0)),
        ({"inputTextTokenCount": 4, "results": [{"tokenCount": 3}, {"tokenCount": 2}]}, (4, 5, 0, 0)),
        ({"prompt_token_count": 6, "generation_token_count": 1}, (6, 1, 0, 0)),
        ({"embedding": [0.1]}, (0, 0, 0, 0)),
    ],
)
def test_usage_of_each_body(body: dict[str, object], want: tuple[int, int, int, int]) -> None:
    assert usage_of(body) == want
