"""finops-nb: FinOps analyses over one FOCUS-shaped table, for notebooks, reports and Voila apps."""

from importlib.metadata import PackageNotFoundError, version

from finops_nb.engine import connect
from finops_nb.sources import Charges, load_charges

try:
    __version__ = version("finops-nb")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["Charges", "connect", "load_charges", "__version__"]
