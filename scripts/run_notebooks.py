"""Execute notebooks headless on the gophernotes kernel; used by scripts/notebooks.sh.

usage: run_notebooks.py OUTDIR CELL_TIMEOUT NOTEBOOK...

Each notebook runs in a fresh kernel of the kernelspec "gophernotes" (found
through JUPYTER_PATH; its wrapper gives each kernel its own GOPATH, since
gomacro deletes $GOPATH/src/gomacro.imports on its first import and two
kernels sharing a GOPATH break each other). The executed copy is written to
OUTDIR/<name>.ipynb whether it passed or not, the kernel's output (gomacro's
plugin builds) to OUTDIR/<name>.kernel.log. A notebook passes when every
cell ran without error and it produced at least one image/png output.
Prints one line per notebook, then "N passed, N failed"; exits 1 on any failure.
"""

import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def count_images(nb):
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                n += 1
    return n


def first_error(nb):
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                tb = "\n".join(out.get("traceback", []))
                return "cell %d: %s: %s\n%s" % (i, out.get("ename"), out.get("evalue"), tb)
    return None


def run(path, outdir, timeout):
    name = os.path.splitext(os.path.basename(path))[0]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="gophernotes",
        timeout=timeout,
        startup_timeout=120,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    err = None
    t0 = time.time()
    # The kernel's own output (gomacro's build messages) goes to a log file.
    log = open(os.path.join(outdir, name + ".kernel.log"), "w")
    try:
        client.execute(stdout=log, stderr=log)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        err = str(e)
    except Exception as e:  # kernel failed to start, etc.
        err = "%s: %s" % (type(e).__name__, e)
    finally:
        log.close()
    dt = time.time() - t0
    if err is None:
        err = first_error(nb)
    images = count_images(nb)
    if err is None and images == 0:
        err = "no image/png output"
    nbformat.write(nb, os.path.join(outdir, name + ".ipynb"))
    status = "ok  " if err is None else "FAIL"
    print("%s %-28s %6.1fs %3d images" % (status, os.path.basename(path), dt, images), flush=True)
    if err is not None:
        lines = err.strip().splitlines()
        if len(lines) > 40:
            lines = lines[:20] + ["..."] + lines[-20:]
        for line in lines:
            print("     | " + line, flush=True)
        print("     | kernel log: " + os.path.join(outdir, name + ".kernel.log"), flush=True)
    return err is None


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, timeout = sys.argv[1], int(sys.argv[2])
    os.makedirs(outdir, exist_ok=True)
    passed = failed = 0
    for path in sys.argv[3:]:
        if run(path, outdir, timeout):
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
