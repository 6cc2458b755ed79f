# The two set-up commands of the README. Each works on a fresh machine: it installs what it needs first.
.PHONY: report test lint

MONTH ?= 2024-09

report:  ## the monthly report for $(MONTH) on the shipped real FOCUS sample -> reports/$(MONTH)/index.html
	@bash scripts/bootstrap.sh
	.venv/bin/finops-nb report --month $(MONTH)

test:  ## every test: unit, hand-worked cases, notebooks (nbval), report, Voila in headless Chromium
	@bash scripts/bootstrap.sh --browser
	AWS_EC2_METADATA_DISABLED=true .venv/bin/python -m pytest

lint:
	@bash scripts/bootstrap.sh
	.venv/bin/ruff check .
