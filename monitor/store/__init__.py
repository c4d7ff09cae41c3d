"""The SQLite archive: opening, migrating and every SQL statement, one submodule per area."""

# Each area module registers its migrations on import, in this order.
from monitor.store import claims, control, dedup, outbox  # noqa: F401
from monitor.store.schema import migrations, open_db

__all__ = ["migrations", "open_db"]
