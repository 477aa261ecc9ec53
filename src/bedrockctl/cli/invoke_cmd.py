"""``bedrockctl invoke``, ``chat`` and ``agent``: call models and agents from the shell."""

from __future__ import annotations

import sys
from typing import Any

import typer

from bedrockctl.cli.money import money
from bedrockctl.cli.output import current, emit


def _verbose_attempts(meta: Any) -> None:
    cli = current()
    if not cli.verbose or meta is None:
        return
    for a in meta.attempts:
        cli.err.print(
            f"attempt {a.number}: {a.model_id} @ {a.region} -> {a.outcome} ({a.latency_ms} ms)"
            + (f" request-id {a.request_id}" if a.request_id else "")
        )
    cost = f"${money(meta.cost_usd)}" if meta.cost_usd is not None else "unpriced"
    cli.err.print(
        f"served by {meta.model_served} in {meta.region_served}; tokens in/out/cache-read/cache-write "
        f"{meta.usage.input_tokens}/{meta.usage.output_tokens}/{meta.usage.cache_read_tokens}/"
        f"{meta.usage.cache_write_tokens + meta.usage.cache_write_1h_tokens}; {cost}; cache hit: {meta.cache_hit}"
    )


def _guardrail_note(meta: Any) -> None:
    from rich.text import Text

    if meta is not None and meta.guardrail is not None and meta.guardrail.intervened:
        current().err.print(Text.assemble(("guardrail intervened", "yellow"), " (stop reason guardrail_intervened)"))


def _answer(data: dict[str, Any], meta: Any) -> None:
    """For people: the answer alone on stdout (notes on stderr)."""
    sys.stdout.write(data["text"] + "\n")
    _guardrail_note(meta)


def register(app: typer.Typer) -> None:
    @app.command(
        "invoke",
        epilog="Examples:\n\n  bedrockctl invoke --model haiku 'Hello'\n\n"
        "  echo 'Summarise' | bedrockctl invoke --model sonnet --tag team=search -\n\n"
        "  bedrockctl invoke --model sonnet --image cat.png 'What is this?' --json\n\n"
        "  bedrockctl invoke --model haiku 'Hi' --output text --query usage.output_tokens",
    )
    def invoke(
        prompt: str = typer.Argument(..., help="The prompt, or - to read it from stdin."),
        model: str | None = typer.Option(None, "--model", "-m", help="Model id, profile, ARN or alias."),
        system: str | None = typer.Option(None, "--system", help="System prompt."),
        max_tokens: int | None = typer.Option(None, "--max-tokens", help="Maximum output tokens."),
        temperature: float | None = typer.Option(None, "--temperature", help="Sampling temperature."),
        stream: bool | None = typer.Option(None, "--stream/--no-stream", help="Stream (default: on a TTY)."),
        image: list[str] = typer.Option([], "--image", help="Attach an image file (repeatable)."),
        tag: list[str] = typer.Option([], "--tag", help="requestMetadata tag key=value (repeatable)."),
        guardrail_id: str | None = typer.Option(None, "--guardrail-id", help="Guardrail id (or BEDROCK_GUARDRAIL_ID)."),
        guardrail_version: str = typer.Option("DRAFT", "--guardrail-version", help="Guardrail version."),
        environment: str | None = typer.Option(None, "--env", help="Environment (routing, allowed models)."),
    ) -> None:
        """Call a model once through Converse (failover, guardrails, cache, usage record and cost).

        The result (--output json) holds the text, the stop reason, usage, cost and every attempt."""
        from bedrockctl.services.invoke import load_image, parse_tags, runtime_for

        text = sys.stdin.read() if prompt == "-" else prompt
        tags = parse_tags(tag)
        images = [load_image(p) for p in image]
        cli = current()
        rt = runtime_for(cli.app(), environment=environment)
        guard = (guardrail_id, guardrail_version) if guardrail_id else None
        kwargs: dict[str, Any] = {
            "prompt": text,
            "system": system,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "images": images,
            "tags": tags,
            "guardrail": guard,
        }
        do_stream = (sys.stdout.isatty() and not cli.machine) if stream is None else stream
        if do_stream and not cli.machine:
            meta = None
            for ev in rt.converse_stream(model, **kwargs):
                if ev.kind == "text":
                    sys.stdout.write(ev.text)
                    sys.stdout.flush()
                elif ev.kind == "usage":
                    meta = ev.meta
            sys.stdout.write("\n")
            _guardrail_note(meta)
            _verbose_attempts(meta)
            return
        if do_stream:
            events = list(rt.converse_stream(model, **kwargs))
            meta = events[-1].meta
            stop = next((e.data["stopReason"] for e in events if e.kind == "stop"), "")
            answer = "".join(e.text for e in events if e.kind == "text")
        else:
            res = rt.converse(model, **kwargs)
            meta, stop, answer = res.meta, res.stop_reason, res.text
        data = {"text": answer, "stop_reason": stop, **(meta.to_dict() if meta else {})}
        emit(data, table=lambda d: _answer(d, meta))
        _verbose_attempts(meta)

    @app.command(
        "chat",
        epilog="Example:\n\n  bedrockctl chat --model sonnet\n\n"
        "Commands inside the chat: /model <id>, /usage, /clear, /exit",
    )
    def chat(
        model: str | None = typer.Option(None, "--model", "-m", help="Model id, profile, ARN or alias."),
        system: str | None = typer.Option(None, "--system", help="System prompt."),
        environment: str | None = typer.Option(None, "--env", help="Environment (routing, allowed models)."),
    ) -> None:
        """Interactive chat with history; /model switches model, /usage shows tokens and cost, /exit quits.

        With --output json (yaml, text, csv) each turn's result is printed as one document: the reply's text,
        stop reason, usage and cost, or a /command's reply."""
        from rich.text import Text

        from bedrockctl.services.invoke import ChatSession, runtime_for

        cli = current()
        rt = runtime_for(cli.app(), environment=environment)
        session = ChatSession(rt, rt.model_or_default(model), system)
        tty = sys.stdin.isatty()
        while True:
            if tty:
                cli.err.print(Text(f"{session.model}> ", style="bold"), end="")
            line = sys.stdin.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                reply = session.command(line)
                if reply is None:
                    break
                emit({"command": line, "reply": reply}, line=reply)
                continue
            meta, parts = None, []
            for ev in session.ask(line):
                if ev.kind == "text":
                    parts.append(ev.text)
                    if not cli.machine:
                        sys.stdout.write(ev.text)
                        sys.stdout.flush()
                elif ev.kind == "usage":
                    meta = ev.meta
            if cli.machine:
                emit({"text": "".join(parts), **(meta.to_dict() if meta else {})})
            else:
                sys.stdout.write("\n")
                sys.stdout.flush()
                _guardrail_note(meta)
            _verbose_attempts(meta)

    @app.command("agent", epilog="Example:\n\n  bedrockctl agent --agent-id A1B2C3 --agent-alias-id TSTALIASID 'Hi'")
    def agent(
        prompt: str = typer.Argument(..., help="The input text, or - to read it from stdin."),
        agent_id: str | None = typer.Option(None, "--agent-id", help="Agent id (or BEDROCK_AGENT_ID)."),
        agent_alias_id: str | None = typer.Option(None, "--agent-alias-id", help="Alias id (BEDROCK_AGENT_ALIAS_ID)."),
        session_id: str | None = typer.Option(None, "--session-id", help="Continue this session."),
        trace: bool = typer.Option(False, "--trace", help="Show the agent's orchestration trace."),
        end_session: bool = typer.Option(False, "--end-session", help="End the session after this turn."),
    ) -> None:
        """Invoke a Bedrock agent: streamed answer, session id (to continue), optional traces."""
        from bedrockctl.services.invoke import agent_ids, runtime_for

        text = sys.stdin.read() if prompt == "-" else prompt
        cli = current()
        ctx = cli.app()
        a, b = agent_ids(ctx, agent_id, agent_alias_id)
        rt = runtime_for(ctx)
        as_json = cli.machine
        parts: list[str] = []
        traces: list[dict[str, Any]] = []
        meta, sid = None, session_id
        for ev in rt.invoke_agent_stream(a, b, text, session_id=session_id, trace=trace, end_session=end_session):
            if ev.kind == "text":
                parts.append(ev.text)
                if not as_json:
                    sys.stdout.write(ev.text)
                    sys.stdout.flush()
            elif ev.kind == "trace":
                traces.append(ev.data)
                if not as_json:
                    step = (ev.data.get("trace") or {}).get("orchestrationTrace") or {}
                    cli.err.print(f"trace: {', '.join(step)}", style="dim")
            elif ev.kind == "usage":
                meta, sid = ev.meta, ev.data.get("session_id", sid)
        data = {"text": "".join(parts), "session_id": sid, **(meta.to_dict() if meta else {})}
        if trace:
            data["traces"] = traces

        def streamed(_: Any) -> None:  # the answer is already on stdout
            sys.stdout.write("\n")
            cli.err.print(f"session id: {sid}")

        emit(data, table=streamed)
        _verbose_attempts(meta)
