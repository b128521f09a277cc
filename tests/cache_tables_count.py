"""Row counts of the four cache tables, read with the standard library's sqlite3."""

from monlab.cache import ALL_CACHE_TABLES


def counts_by_table(connection) -> dict[str, int]:
    try:
        return {name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in ALL_CACHE_TABLES}
    finally:
        connection.close()
