#!/usr/bin/env bash
# Relock bontrack's dependencies from pyproject.toml: exact versions with hashes for every
# platform on Python 3.11+, resolved by uv (`pip install uv` if it is missing).
#   requirements/app.txt   the runtime (project.dependencies)
#   requirements/test.txt  the runtime and the `test` extra, at the same versions
#
#   bash requirements/lock.sh                       keep today's pins, resolve what pyproject changed
#   bash requirements/lock.sh --upgrade             every pin to its newest release
#   bash requirements/lock.sh --upgrade-package X   X (and what it needs) to its newest release
# Arguments go to `uv pip compile`. docs/development.md says when to run which.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v uv >/dev/null 2>&1; then
  uv=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
  uv=(python3 -m uv)
else
  echo "requirements/lock.sh needs uv: pip install uv" >&2
  exit 1
fi

compile=("${uv[@]}" pip compile pyproject.toml --universal --python-version 3.11
         --generate-hashes --no-strip-extras --quiet
         --custom-compile-command "bash requirements/lock.sh")
# The superset first; the runtime lock is then held to exactly its versions.
"${compile[@]}" --extra test --output-file requirements/test.txt "$@"
"${compile[@]}" --constraint requirements/test.txt --output-file requirements/app.txt "$@"
python3 requirements/fingerprint.py --stamp requirements/app.txt requirements/test.txt
echo "locked: $(grep -c '^[A-Za-z0-9]' requirements/app.txt) runtime and" \
     "$(grep -c '^[A-Za-z0-9]' requirements/test.txt) runtime+test packages"
