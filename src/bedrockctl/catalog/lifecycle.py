"""Model lifecycle computed from dates: ACTIVE -> LEGACY -> EOL, on any day, never marked by hand.

AWS's model lifecycle pages give each retiring model a Legacy date, sometimes a public extended access date, and an
end-of-life (EOL) date. The status on a given day follows from those dates alone:

- on or after the EOL date: ``EOL`` (calls fail; the model is not offered for new calls);
- on or after the Legacy date: ``LEGACY`` (still callable; plan a migration);
- an announced EOL date without a known Legacy date: ``LEGACY`` (AWS adds the EOL date to a model card only when
  the model enters its Legacy period);
- otherwise ``ACTIVE``.

AWS sometimes keeps serving a model in a few Regions past its EOL date (``end_of_life_exempt_regions``): there the
model stays ``LEGACY``, and the model as a whole is ``EOL`` only once no Region serves it.

``today()`` is the one clock read; every function takes the day explicitly so tests own the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

Lifecycle = Literal["ACTIVE", "LEGACY", "EOL"]
LIFECYCLES: tuple[Lifecycle, ...] = ("ACTIVE", "LEGACY", "EOL")
EOL_WARNING_DAYS = 60
"""How many days before end-of-life a configured model is worth a warning (doctor)."""


def today() -> date:
    """The current UTC date (the only clock read of the catalog)."""
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class LifecycleDates:
    """The dates AWS publishes for one model (all optional)."""

    legacy: date | None = None
    public_extended_access: date | None = None
    end_of_life: date | None = None
    end_of_life_exempt_regions: tuple[str, ...] = ()

    def status_on(self, day: date, region: str | None = None) -> Lifecycle:
        """The status on ``day`` in ``region`` (``None``: the model as a whole, EOL once no Region serves it)."""
        if self.end_of_life is not None and day >= self.end_of_life:
            exempt = self.end_of_life_exempt_regions
            if (region is None and not exempt) or (region is not None and region not in exempt):
                return "EOL"
            return "LEGACY"
        if self.legacy is not None and day >= self.legacy:
            return "LEGACY"
        if self.end_of_life is not None and self.legacy is None:
            return "LEGACY"
        return "ACTIVE"

    def days_to_end_of_life(self, day: date) -> int | None:
        """Days from ``day`` to the EOL date (negative once past); ``None`` when no EOL date is announced."""
        return None if self.end_of_life is None else (self.end_of_life - day).days

    def in_extended_access(self, day: date) -> bool:
        """In the public extended access part of the Legacy period (provider pricing may be higher)."""
        return (
            self.public_extended_access is not None
            and day >= self.public_extended_access
            and self.status_on(day) == "LEGACY"
        )
