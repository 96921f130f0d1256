"""A database's schema as plain data, to compare two databases (tests/store)."""

from sqlalchemy import Engine, inspect


def schema_of(engine: Engine) -> dict[str, object]:
    """Every table's columns (name, type, nullability, default), indexes, unique constraints and foreign keys."""
    found = inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in found.get_columns(table)
            ],
            "primary_key": found.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in found.get_foreign_keys(table)
            ),
        }
        for table in sorted(found.get_table_names())
    }
