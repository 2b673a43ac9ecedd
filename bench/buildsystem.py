#!/usr/bin/env python3
"""Does the tuned model name the right build system? (issue 16)

Reads an evaluation's answers (EVAL_DIR/generations.jsonl) beside the
reference answers of its dataset (DATASET_DIR: examples.meta.jsonl and the
split files it points into) and counts, over the tuned model's free
answers of dependency findings:

  ecosystem   the ecosystem in "Where" ("installed version X (npm)") is the
              reference's — results.json's ecosystem_accuracy since scoring
              v9; counted here for evaluations scored before it, with the
              wrong ones listed;
  block head  the build system that opens the first fix block ("npm: ...",
              "gradle-kotlin (...)") is the reference's, where both have one.

No score in results.json reads the block head: a Gradle block for an npm
package is a wrong snippet there, or none. Usage (stdlib only):

  bench/buildsystem.py MODEL/eval/other MODEL/eval/other/dataset
  bench/buildsystem.py MODEL/eval RUN/dataset
"""
import collections
import json
import os
import re
import sys

import references

LABEL = re.compile(r"installed version \S+ \(([^)]+)\)")
HEAD = re.compile(r"\n([^\n`]*)\n```\n")


def head(text):
    m = HEAD.findall(text)
    return re.split(r"[ :(]", m[0])[0] if m else None


def main(eval_dir, dataset_dir):
    refs = references.load(dataset_dir, lambda m: m.get("kind") == "dependency")
    eco = heads = eco_n = heads_n = 0
    wrong = collections.Counter()
    seen = set()
    with open(os.path.join(eval_dir, "generations.jsonl")) as f:
        for line in f:
            g = json.loads(line)
            # The first tuned answer of each example is the free one;
            # grounded regenerations follow it.
            if g["model"] != "tuned" or g["index"] in seen or g["finding_id"] not in refs:
                continue
            seen.add(g["index"])
            ref = refs[g["finding_id"]]
            want = LABEL.findall(ref)
            if want:
                eco_n += 1
                got = LABEL.findall(g["text"])
                if got and got[0] == want[0]:
                    eco += 1
                else:
                    wrong[f"{want[0]} as {got[0] if got else 'none'}"] += 1
            rh, ah = head(ref), head(g["text"])
            if rh and ah:
                heads_n += 1
                heads += rh == ah
    print(f"ecosystem in Where: {eco}/{eco_n}; first block's build system: {heads}/{heads_n}")
    if wrong:
        print("wrong:", ", ".join(f"{k} ({v})" for k, v in sorted(wrong.items())))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
