# Sourced by the other scripts: makes `uv` available and keeps it from downloading interpreters.
# Works on a machine that has only python3 and pip; every step is idempotent.

export UV_PYTHON_DOWNLOADS=never

if ! command -v uv >/dev/null 2>&1; then
    bootstrap_env="$PWD/.cache/uv-bootstrap"
    if [ ! -x "$bootstrap_env/bin/uv" ]; then
        echo "uv not found: installing it into $bootstrap_env" >&2
        # A private venv, not `pip install --user`: it works as root, under PEP 668 and without touching the system.
        python3 -m venv "$bootstrap_env"
        "$bootstrap_env/bin/python" -m pip install --quiet --disable-pip-version-check "uv>=0.5"
    fi
    export PATH="$bootstrap_env/bin:$PATH"
fi
