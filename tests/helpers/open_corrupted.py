"""Open randomly corrupted copies of a run with the product, one JSON line per copy.

Usage: python open_corrupted.py RUN.h5 FOLDER FIRST_SEED COUNT

Each copy has a few random bytes or one random block overwritten, then goes through `gkn runs show`,
`gkn runs check`, `gkn export --what chains` and the reader's full replay
(metrics, manifolds, samplings, the model).
Runs in its own process: if the HDF5 library itself crashed on a damaged file, the parent would see
which seed did it.
"""

import contextlib
import io
import json
import random
import shutil
import sys
from pathlib import Path


def corrupt(source: Path, target: Path, rng: random.Random) -> str:
    shutil.copyfile(source, target)
    data = bytearray(target.read_bytes())
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        how = "bits"
    else:
        start, length = rng.randrange(len(data)), rng.choice((8, 64, 512, 4096))
        data[start : start + length] = rng.randbytes(min(length, len(data) - start))
        how = f"block {start}+{length}"
    target.write_bytes(bytes(data))
    return how


def cli(args: list[str]) -> tuple[int, str]:
    from gkn_core.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def replay(path: Path) -> tuple[int, str]:
    from gkn_core.errors import GKNError
    from gkn_core.runs.reader import open_run

    try:
        with open_run(path) as run:
            run.train_metrics()
            if run.kind == "gkn":  # what the app replays of a GKN run (gkn_core.gkn.runfile.GknRun)
                run.manifolds()
                for name in run.sampling_names():
                    run.sampling(name)
                if run.checkpoint_steps():
                    run.load_model()
            else:  # a chaos run: its samplings as exported, and its network
                from gkn_core.chaos.runfile import export_arrays, load_chaos_model

                for index in range(len(run.sampling_names())):
                    export_arrays(run, "chains", index)
                if run.checkpoint_steps():
                    load_chaos_model(run)
    except GKNError as exc:
        return 2, f"gkn: error: {exc}\n"
    return 0, ""


def main(source: str, folder: str, first: int, count: int) -> None:
    import torch

    torch.set_num_threads(1)
    for seed in range(first, first + count):
        rng = random.Random(seed)
        target = Path(folder) / f"corrupt-{seed}.h5"
        how = corrupt(Path(source), target, rng)
        results = {
            "show": cli(["runs", "show", str(target)]),
            "check": cli(["runs", "check", str(target)]),
            "export": cli(["export", str(target), "--overwrite", "--out", str(Path(folder) / "out.csv")]),
            "replay": replay(target),
        }
        print(json.dumps({"seed": seed, "how": how, "results": results}), flush=True)
        target.unlink()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
