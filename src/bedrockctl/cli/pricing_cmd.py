"""``bedrockctl pricing``: show the price catalog, refresh it from the AWS Price List API."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bedrockctl.cli.output import STATE, out, print_json, print_table, want_json

pricing_app = typer.Typer(help="The Bedrock price catalog (per 1,000 tokens, USD).", no_args_is_help=True)


def _s(v: object) -> str:
    return "-" if v is None else str(v)


@pricing_app.command(
    "show",
    epilog="Examples:\n\n  bedrockctl pricing show\n\n  bedrockctl pricing show --model us.anthropic.claude-sonnet-4-"
    "5-20250929-v1:0 --region us-east-1\n\n  bedrockctl pricing show --region eu-west-1 --json",
)
def show(
    model: str | None = typer.Option(None, "--model", help="Model id, inference profile id or ARN."),
    region: str | None = typer.Option(None, "--region", help="Region (default: the configured one or us-east-1)."),
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Prices per model (on-demand, global profile, cache read/write, batch, provisioned throughput)."""
    from bedrockctl.pricing import PriceBook

    ctx = STATE.context()
    book = PriceBook.load_for(ctx.settings)
    where = region or ctx.settings.aws.region or "us-east-1"
    if model:
        price = book.price_for(model, where)
        prices = [price] if price else []
        if price is None and want_json(json_out):
            print_json({"model": model, "region": where, "price": None, "priced": False})
            return
    else:
        prices = [p for e in book for p in [book.price(e.model_id, where)] if p is not None]
    if want_json(json_out):
        print_json(
            {
                "source": list(book.source),
                "as_of": book.as_of.isoformat(),
                "region": where,
                "prices": [p.to_dict() for p in prices],
            }
        )
        return
    if not prices:
        out.print(f"{model} is not in the price list for {where} (unpriced).")
        return
    rows = []
    for p in prices:
        prov = p.provisioned
        rows.append(
            (
                p.model_id,
                p.tier,
                _s(p.input_per_1k),
                _s(p.output_per_1k),
                _s(p.cache_read_per_1k),
                _s(p.cache_write_per_1k),
                _s(p.batch_discount),
                "-" if prov is None else f"{_s(prov.no_commitment)}/{_s(prov.one_month)}/{_s(prov.six_month)}",
            )
        )
    print_table(
        f"Bedrock prices in {where}, USD per 1K tokens (as of {book.as_of})",
        ["model", "tier", "input", "output", "cache read", "cache write", "batch discount", "PT $/unit-h (none/1m/6m)"],
        rows,
    )


@pricing_app.command(
    "update",
    epilog="Examples:\n\n  bedrockctl pricing update\n\n  bedrockctl pricing update --from-file products.json --json",
)
def update(
    from_file: Path | None = typer.Option(None, "--from-file", help="A saved GetProducts response (offline)."),
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Refresh prices from the AWS Price List API (pricing:GetProducts, AmazonBedrock) into the data directory."""
    from bedrockctl.pricing import PriceBook, updated_path
    from bedrockctl.pricing.pricelist import PRICING_ENDPOINT_REGION, fetch_products, merge, parse_products

    ctx = STATE.context()
    if from_file is not None:
        doc = json.loads(from_file.read_text())
        items = doc.get("PriceList", []) if isinstance(doc, dict) else doc
    else:
        items = fetch_products(ctx.sessions.client("pricing", PRICING_ENDPOINT_REGION))
    prices = parse_products(items)
    book = PriceBook.load_for(ctx.settings)
    current = json.loads(Path(book.path).read_text()) if not book.path.startswith("package:") else None
    if current is None:
        from importlib import resources

        current = json.loads(resources.files("bedrockctl.pricing").joinpath("data/prices.json").read_text())
    new = merge(current, prices)
    target = updated_path(ctx.settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(new, indent=1) + "\n")
    summary = {
        "products": len(items),
        "prices": len(prices),
        "models": len({m for m, _ in prices}),
        "written": str(target),
    }
    if want_json(json_out):
        print_json(summary)
    else:
        out.print(f"{summary['prices']} model/Region prices from {summary['products']} products -> {target}")


def register(app: typer.Typer) -> None:
    app.add_typer(pricing_app, name="pricing")
