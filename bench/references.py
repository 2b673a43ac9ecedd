"""The reference answers of a dataset's held-out examples, for the bench
scripts that read an evaluation's answers beside them (factlines.py,
buildsystem.py). Stdlib only."""
import json
import os


def load(dataset_dir, keep=lambda meta: True):
    """{finding id: reference answer} of the examples of dataset_dir that
    are not training rows and that keep accepts (an examples.meta.jsonl
    record): each read from the split file and line its record points to."""
    split_rows, refs = {}, {}
    with open(os.path.join(dataset_dir, "examples.meta.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            if m["split"] == "train" or not keep(m):
                continue
            if m["split"] not in split_rows:
                with open(os.path.join(dataset_dir, m["split"] + ".jsonl")) as sf:
                    split_rows[m["split"]] = sf.read().splitlines()
            row = json.loads(split_rows[m["split"]][m["line"] - 1])
            refs[m["finding_id"]] = row["messages"][-1]["content"]
    return refs
