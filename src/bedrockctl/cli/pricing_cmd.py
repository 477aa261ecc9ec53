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
    "  bedrockctl pricing show --output text --query 'prices[].[model_id,input_per_1k,output_per_1k]'",
)
def show(
    model: str | None = typer.Option(None, "--model", help="Model id, inference profile id, ARN or alias."),
    region: str | None = typer.Option(
        None, "--region", callback=region_option, help="Region (default: the configured one or us-east-1)."
    ),
) -> None:
    """Prices per model (on-demand, global profile, cache read/write, batch, provisioned throughput)."""
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
    else:
        prices = [p for e in book for p in [book.price(e.model_id, where)] if p is not None]
    data = {
        "source": list(book.source),
        "as_of": book.as_of.isoformat(),
        "region": where,
        "prices": [p.to_dict() for p in prices],
    }
    emit(data, table=lambda _: _prices_table(prices, where, book.as_of), records="prices")


def _prices_table(prices: list[Any], where: str, as_of: Any) -> None:
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
            Col("batch discount", drop=2, right=True),
            Col("PT $/unit-h (none/1m/6m)", drop=1),
        ],
        rows,
    )


@pricing_app.command(
    "update",
    epilog="Examples:\n\n  bedrockctl pricing update\n\n  bedrockctl pricing update --from-file products.json --json",
)
def update(
    from_file: Path | None = typer.Option(None, "--from-file", help="A saved GetProducts response (offline)."),
) -> None:
    """Refresh prices from the AWS Price List API (pricing:GetProducts, AmazonBedrock) into the data directory."""
    from bedrockctl.pricing import PriceBook, updated_path
    from bedrockctl.pricing.pricelist import PRICING_ENDPOINT_REGION, fetch_products, merge, parse_products

    ctx = current().app()
    if from_file is not None:
        doc = json.loads(from_file.read_text())
        items = doc.get("PriceList", []) if isinstance(doc, dict) else doc
    else:
        items = fetch_products(ctx.sessions.client("pricing", PRICING_ENDPOINT_REGION))
    prices = parse_products(items)
    book = PriceBook.load_for(ctx.settings)
    catalog = json.loads(Path(book.path).read_text()) if not book.path.startswith("package:") else None
    if catalog is None:
        from importlib import resources

        catalog = json.loads(resources.files("bedrockctl.pricing").joinpath("data/prices.json").read_text())
    new = merge(catalog, prices)
    target = updated_path(ctx.settings)
    write_private(target, json.dumps(new, indent=1) + "\n")
    summary = {
        "products": len(items),
        "prices": len(prices),
        "models": len({m for m, _ in prices}),
        "written": str(target),
    }
    line = f"{summary['prices']} model/Region prices from {summary['products']} products -> {target}"
    emit(summary, line=line)


def register(app: typer.Typer) -> None:
    app.add_typer(pricing_app, name="pricing")
