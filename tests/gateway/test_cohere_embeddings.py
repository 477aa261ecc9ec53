"""The gateway's Cohere embeddings (documented in docs/gateway.md) against the sandbox's native Cohere Embed
body: one InvokeModel per batch, float vectors, usage from the token-count header."""

from __future__ import annotations

import math

from .conftest import RunningGateway


def test_openai_embeddings_through_cohere_embed(gw: RunningGateway) -> None:
    import openai

    client = openai.OpenAI(api_key=gw.key()["token"], base_url=gw.url + "/v1", max_retries=0)
    texts = ["first document", "second document"]
    out = client.embeddings.create(model="cohere.embed-english-v3", input=texts)
    assert [d.index for d in out.data] == [0, 1]
    assert [len(d.embedding) for d in out.data] == [1024, 1024]
    assert out.data[0].embedding != out.data[1].embedding
    assert out.usage.prompt_tokens == sum(math.ceil(len(t) / 4) for t in texts)
