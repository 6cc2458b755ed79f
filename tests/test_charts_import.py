"""charts imports altair without jsonschema's iri checker (rfc3987_syntax builds a grammar on import), and the
charts still validate against the Vega-Lite schema."""

import subprocess
import sys

CODE = """
import sys
import pandas as pd
from finops_nb import charts
assert "rfc3987_syntax" not in sys.modules
df = pd.DataFrame({"ServiceName": ["a", "b"], "cost": [2.0, 1.0]})
charts.bar_by(df, "ServiceName", "cost", title="t").to_dict()
try:
    charts.alt.Chart(df).mark_bar().encode(y=charts.alt.Y("ServiceName:N", sort=5)).to_dict()
except charts.alt.utils.schemapi.SchemaValidationError:
    print("invalid spec refused")
import rfc3987_syntax  # still importable afterwards
print(rfc3987_syntax.is_valid_syntax("iri", "https://example.com/x"))
"""


def test_charts_validate_without_the_iri_grammar():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["invalid", "spec", "refused", "True"]
