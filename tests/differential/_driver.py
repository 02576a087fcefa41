"""Run many invocations of one CLI in a single Python process (no pytest imports here).

Usage: PYTHON _driver.py MODULE:ATTR PROG < commands.json > results.json
       PYTHON _driver.py MODULE:ATTR PROG --serve   (one JSON command per line in, one result per line out)

Starting gto costs ~0.7 s per process, almost all of it imports; read-only commands do not share
state between invocations, so running them one after another in one process gives the same
output for a fraction of the time. Each invocation gets fresh, non-TTY stdout/stderr streams.
"""

import importlib
import io
import json
import sys
import traceback


def run_one(command, args, prog):
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="strict", write_through=True)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    rc = 0
    try:
        command.main(args=list(args), prog_name=prog, standalone_mode=True)  # a click command, both
    except SystemExit as exc:
        code = exc.code
        rc = code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:  # noqa: BLE001 - report like an uncaught error at top level
        traceback.print_exc()
        rc = 1
    finally:
        out.flush()
        err.flush()
        sys.stdout, sys.stderr = saved
    return [rc, out_bytes.getvalue().decode("utf-8"), err_bytes.getvalue().decode("utf-8")]


def serve(command, prog):
    """Commands one at a time, for writes that must happen at a time the caller chooses."""
    protocol = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        protocol.write(json.dumps(run_one(command, json.loads(line), prog)) + "\n")
        protocol.flush()


def main():
    target, prog = sys.argv[1], sys.argv[2]
    module, attr = target.split(":")
    command = getattr(importlib.import_module(module), attr)
    if sys.argv[3:] == ["--serve"]:
        serve(command, prog)
        return
    commands = json.load(sys.stdin)
    results = [run_one(command, args, prog) for args in commands]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
