"""``bedrockctl pricing``: show the price catalog, refresh it from the AWS Price List API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from bedrockctl.cli.money import money
from bedrockctl.cli.output import Col, current, emit, print_table
from bedrockctl.cli.regions import region_option
from bedrockctl.files import write_private

pricing_app = typer.Typer(help="The Bedrock price catalog (per 1,000 tokens, USD).", no_args_is_help=True)


@pricing_app.command(
    "show",
    epilog="Examples:\n\n  bedrockctl pricing show\n\n  bedrockctl pricing show --model us.anthropic.claude-sonnet-4-"
    "5-20250929-v1:0 --region us-east-1\n\n  bedrockctl pricing show --region eu-west-1 --json\n\n"
    "  bedrockctl pricing show --output text --query 'prices[].[model_id,input_per_1k,output_per_1k]'\n\n"
    "  bedrockctl pricing show --model global.anthropic.claude-sonnet-4-5-20250929-v1:0 --ttl 1h --context long "
    "--output json --query rates",
)
def show(
    model: str | None = typer.Option(None, "--model", help="Model id, inference profile id, ARN or alias."),
    region: str | None = typer.Option(
        None, "--region", callback=region_option, help="Region (default: the configured one or us-east-1)."
    ),
    tier: str = typer.Option("default", "--tier", help="With --model: default, priority, flex, batch or reserved."),
    ttl: str = typer.Option("5m", "--ttl", help="With --model: the cache-write TTL, 5m or 1h."),
    context: str = typer.Option("standard", "--context", help="With --model: standard or long (long-context rates)."),
) -> None:
    """Prices per model (on-demand, global profile, cache read/write, batch, provisioned throughput); with --model
    also every rate of one way of calling it, each with its source and date, and what is unpriced and why."""
    from bedrockctl.analytics.errors import ReportSpecError
    from bedrockctl.pricing import PriceBook

    ctx = current().app()
    book = PriceBook.load_for(ctx.settings)
    where = region or ctx.settings.aws.region or "us-east-1"
    if model:
        from bedrockctl.runtime.resolve import canonical_model_id

        model = canonical_model_id(model)  # an alias names the model it stands for
        price = book.price_for(model, where)
        if price is None:
            data: dict[str, Any] = {"model": model, "region": where, "price": None, "priced": False}
            emit(data, line=f"{model} is not in the price list for {where} (unpriced).")
            return
        prices = [price]
        choices = {"--tier": (tier, _TIERS), "--ttl": (ttl, ("5m", "1h")), "--context": (context, ("standard", "long"))}
        for flag, (value, allowed) in choices.items():
            if value not in allowed:
                raise ReportSpecError(f"bad {flag} {value!r}: one of {', '.join(allowed)}")
        record = book.rates(model, where, tier=tier, ttl=ttl, context=context)  # type: ignore[arg-type]
    else:
        record = None
        prices = [p for e in book for p in [book.price(e.model_id, where)] if p is not None]
    data = {
        "source": list(book.source),
        "as_of": book.as_of.isoformat(),
        "region": where,
        "prices": [p.to_dict() for p in prices],
    }
    if record is not None:
        data["rates"] = record.to_dict()
    emit(data, table=lambda _: _prices_table(prices, where, book.as_of, record), records="prices")


_TIERS = ("default", "priority", "flex", "batch", "reserved")


def _prices_table(prices: list[Any], where: str, as_of: Any, record: Any = None) -> None:
    rows = []
    for p in prices:
        prov = p.provisioned
        pt = "-" if prov is None else "/".join(money(v) for v in (prov.no_commitment, prov.one_month, prov.six_month))
        rows.append(
            (
                p.model_id,
                p.tier,
                p.input_per_1k,
                p.output_per_1k,
                p.cache_read_per_1k,
                p.cache_write_per_1k,
                p.cache_write_1h_per_1k,
                "-" if p.batch_discount is None else p.batch_discount,
                pt,
            )
        )
    print_table(
        f"Bedrock prices in {where}, USD per 1K tokens (as of {as_of})",
        [
            Col("model"),
            Col("tier", drop=3),
            Col("input", money=True),
            Col("output", money=True),
            Col("cache read", money=True, drop=5),
            Col("cache write", money=True, drop=4),
            Col("cache write 1h", money=True, drop=6),
            Col("batch discount", drop=2, right=True),
            Col("PT $/unit-h (none/1m/6m)", drop=1),
        ],
        rows,
    )
    if record is not None:
        print_table(
            f"{record.model_id} from {record.region}: {record.routing}, tier {record.tier}, cache TTL {record.ttl}, "
            f"{record.context} context (USD per 1K tokens)",
            [Col("dimension"), Col("rate", money=True), Col("as of", drop=1), Col("source", drop=2)],
            [(k, r.usd, r.as_of.isoformat(), r.source) for k, r in record.rates.items()]
            + [(k, None, "-", f"unpriced: {why}") for k, why in record.unpriced.items()],
        )


UPDATE_EPILOG = """Examples:

  bedrockctl pricing update

  bedrockctl pricing update --from-file AmazonBedrock.json --from-file AmazonBedrockFoundationModels.json

  bedrockctl pricing update --from-file products.json --output json --query 'changes[?change==`changed`]'
"""


@pricing_app.command("update", epilog=UPDATE_EPILOG)
def update(
    from_file: list[Path] = typer.Option(
        [], "--from-file", help="A saved GetProducts response or bulk offer file (offline); repeatable."
    ),
) -> None:
    """Rebuild the price book from the AWS Price List (AmazonBedrock service codes) and show what changed."""
    from importlib import resources

    from bedrockctl.pricing import PriceBook, updated_path
    from bedrockctl.pricing.bookupdate import diff, merge
    from bedrockctl.pricing.pricelist import PRICING_ENDPOINT_REGION, fetch_products, load_file, parse_rows

    ctx = current().app()
    if from_file:
        docs: list[Any] = [load_file(f) for f in from_file]
    else:
        from bedrockctl.aws.errors import aws_errors

        with aws_errors(service="pricing", operation="GetProducts"):
            docs = [fetch_products(ctx.sessions.client("pricing", PRICING_ENDPOINT_REGION))]
    rows, skipped = parse_rows(docs)
    book = PriceBook.load_for(ctx.settings)
    if book.path.startswith("package:"):
        current_doc = json.loads(resources.files("bedrockctl.pricing").joinpath("data/prices.json").read_text())
    else:
        current_doc = json.loads(Path(book.path).read_text())
    new = merge(current_doc, rows)
    changes = diff(current_doc, new)
    target = updated_path(ctx.settings)
    write_private(target, json.dumps(new, indent=1) + "\n")
    token_sets = {(r.subject, r.region) for r in rows if r.kind == "token" and r.tier == "standard"}
    summary = {
        "products": sum(1 for d in docs for _ in _products(d)),
        "rates": len(rows),
        "prices": len({k for k in token_sets if k[1]}),
        "models": len({r.subject for r in rows if r.kind == "token"}),
        "skipped": skipped,
        "added": sum(1 for c in changes if c["change"] == "added"),
        "removed": sum(1 for c in changes if c["change"] == "removed"),
        "changed": sum(1 for c in changes if c["change"] == "changed"),
        "changes": changes,
        "written": str(target),
    }
    emit(summary, table=_changes_table, records="changes")


def _products(doc: Any) -> Any:
    from bedrockctl.pricing.pricelist import products

    return products(doc)


def _changes_table(data: dict[str, Any]) -> None:
    print_table(
        f"Price book changes: {data['added']} added, {data['removed']} removed, {data['changed']} changed "
        f"({data['rates']} rates from {data['products']} products)",
        [Col("change"), Col("model / section"), Col("dimension"), Col("old", right=True), Col("new", right=True)],
        [(c["change"], c["subject"], c["dimension"], c["old"] or "-", c["new"] or "-") for c in data["changes"]],
    )
    current().out.print(f"written: {data['written']}")


def register(app: typer.Typer) -> None:
    app.add_typer(pricing_app, name="pricing")
