"""Storage: SQLModel tables, sessions and migrations, repository functions."""

SCHEMA_HEAD = "0005"  # the newest Alembic revision; tracker/quickpoll.py reads it without importing SQLAlchemy
