"""liftdb: applies, rolls back, checks and proves the migrations in ``sql/``."""

__version__ = "0.1.0"
