#!/usr/bin/env bash
# Run the FinOps Foundation's focus-validator (FOCUS 1.2 rules, offline) on one FOCUS Parquet or CSV file.
#
#   bash scripts/focus_validator.sh DATA.parquet REPORT [extra focus-validator options ...]
#
# REPORT's suffix chooses the validator's output type: .xml -> JUnit XML (--output-type unittest),
# .html -> its web report (--output-type web), anything else -> its console report (summary line
# "Total: N | Pass: N | Fail: N | Skipped: N", one line per rule, then the failures with their messages).
# Extra options go to the validator as they are (e.g. --applicability-criteria ALL).
#
# The validator lives in its own venv, .venv-focus-validator (focus-validator 2.x needs Python 3.12 and
# pyarrow < 20, which finops-nb's .venv does not have), made here on first use and reused while it holds
# the pinned versions. It runs from its own site-packages folder: it opens
# focus_validator/rules/currency_codes.csv by a relative path.
#
# Exit 0 when the validator ran and wrote its report, whatever its rules found; non-zero when it could not
# run (no Python 3.12, install failed, unreadable data file, validator crash, no report written).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.2.1
REQUIREMENTS=("focus-validator==$VERSION" "pyarrow<20")
VENV=.venv-focus-validator
STAMP="$VENV/.installed"

die() { echo "focus_validator.sh: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: bash scripts/focus_validator.sh DATA.parquet REPORT [focus-validator options ...]"
DATA=$(realpath -m -- "$1")
REPORT=$(realpath -m -- "$2")
shift 2
[ -f "$DATA" ] || die "no such data file: $DATA"

find_python312() {
    # A pyenv shim named python3.12 exists even where 3.12 is not the active version and then fails,
    # so every candidate is run once before it is trusted.
    local root=${PYENV_ROOT:-$HOME/.pyenv}
    for py in ${FOCUS_VALIDATOR_PYTHON:-} python3.12 "$root"/versions/3.12*/bin/python3.12 \
              /usr/local/bin/python3.12 /usr/bin/python3.12; do
        if "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then
            command -v "$py" || echo "$py"
            return 0
        fi
    done
    return 1
}

venv_ok() {
    [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${REQUIREMENTS[*]}" ] &&
        "$VENV/bin/python" - "$VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version

import pyarrow  # noqa: F401  (the validator needs it; a broken install fails here)

sys.exit(sys.version_info[:2] != (3, 12) or version("focus-validator") != sys.argv[1]
         or int(version("pyarrow").split(".")[0]) >= 20)
EOF
}

install_venv() {
    local py
    py=$(find_python312) || die "focus-validator $VERSION needs Python 3.12 and none was found (tried \
\$FOCUS_VALIDATOR_PYTHON, python3.12, ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.12*/bin/python3.12, \
/usr/local/bin and /usr/bin). Install it (e.g. 'pyenv install 3.12') or set FOCUS_VALIDATOR_PYTHON."
    echo "installing ${REQUIREMENTS[*]} into $VENV with $py ..." >&2
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" \
            >"$VENV/pip.log" 2>&1; then
        tail -n 30 "$VENV/pip.log" >&2
        die "pip could not install ${REQUIREMENTS[*]} (full log: $VENV/pip.log)"
    fi
    echo "${REQUIREMENTS[*]}" >"$STAMP"
    venv_ok || die "$VENV was installed but does not import focus-validator $VERSION with pyarrow < 20"
}

# One installer at a time (two test processes may start together); the check is cheap when installed.
exec 9>"$VENV.lock"
command -v flock >/dev/null && flock 9
venv_ok || install_venv
command -v flock >/dev/null && flock -u 9

SITE=$("$VENV/bin/python" -c 'import focus_validator, os; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))')
# The validator's own logging config writes a DEBUG log into the working directory; send warnings to
# stderr instead (they say, e.g., which column it dropped while loading).
LOGCFG=$(realpath "$VENV")/logging.yaml
[ -f "$LOGCFG" ] || cat >"$LOGCFG" <<'EOF'
version: 1
disable_existing_loggers: false
formatters:
  short: {format: "focus-validator %(levelname)s %(name)s: %(message)s"}
handlers:
  stderr: {class: logging.StreamHandler, stream: ext://sys.stderr, formatter: short, level: WARNING}
root: {level: WARNING, handlers: [stderr]}
EOF

case "$REPORT" in
    *.xml) OUTPUT=(--output-type unittest --output-destination "$REPORT") ;;
    *.html) OUTPUT=(--output-type web --output-destination "$REPORT") ;;
    *) OUTPUT=(--output-type console) ;;
esac
mkdir -p "$(dirname "$REPORT")"
rm -f "$REPORT"
CMD=("$PWD/$VENV/bin/focus-validator" --data-file "$DATA" --validate-version 1.2 --block-download "${OUTPUT[@]}" "$@")
echo "+ (cd $SITE && ${CMD[*]})" >&2
if [ "${OUTPUT[1]}" = console ]; then
    (cd "$SITE" && LOGGING_CONFIG=$LOGCFG PYTHONIOENCODING=utf-8 "${CMD[@]}") >"$REPORT.tmp" ||
        { cat "$REPORT.tmp" >&2; rm -f "$REPORT.tmp"; die "the validator failed (see above)"; }
    grep -q '^Total: [0-9]* | Pass: ' "$REPORT.tmp" ||
        { cat "$REPORT.tmp" >&2; rm -f "$REPORT.tmp"; die "the validator printed no summary"; }
    mv "$REPORT.tmp" "$REPORT"
else
    (cd "$SITE" && LOGGING_CONFIG=$LOGCFG "${CMD[@]}") || die "the validator failed (see above)"
    [ -s "$REPORT" ] || die "the validator wrote no report to $REPORT"
fi
echo "focus-validator $VERSION report: $REPORT" >&2
