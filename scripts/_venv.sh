# Sourced by the scripts: make .venv (if missing) and install the project into it, with the extra named
# by the first argument (test: pytest, xdist, Playwright) or "" for none (what the chat and the service
# need). Always pass it: a sourced script without arguments would see its caller's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
extra=${1:-}
stamp=.venv/.installed-$(cksum < pyproject.toml | cut -d' ' -f1)
# an install with any extra holds the plain one
if ! compgen -G "$stamp-${extra:-*}" >/dev/null; then
    echo "Installing Hagukumi${extra:+ with its $extra tools} into .venv (first run or changed pyproject.toml; about a minute)..." >&2
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extra:+[$extra]}"
    touch "$stamp-${extra:-plain}"
fi
