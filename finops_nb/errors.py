"""Exceptions of our own: each message says what went wrong, where, and what to do."""


class FinopsError(Exception):
    """Base class for every error finops-nb raises on purpose."""


class DataError(FinopsError):
    """A billing file cannot be read as it is. Names the file, row and column."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, hint: str | None = None):
        self.file, self.row, self.column, self.hint = file, row, column, hint
        where = ", ".join(p for p in (
            f"file {file}" if file else "",
            f"row {row}" if row is not None else "",
            f"column {column}" if column else "",
        ) if p)
        text = f"{where}: {message}" if where else message
        if hint:
            text += f". To fix: {hint}"
        super().__init__(text)


class ConservationError(DataError):
    """Normalized totals differ from the source's totals for a billing period and currency."""


class MixedCurrencyError(FinopsError):
    """Amounts in different currencies were about to be added without exchange rates."""


class ConfigError(FinopsError):
    """A parameter, engine URL or environment setting is not usable."""
