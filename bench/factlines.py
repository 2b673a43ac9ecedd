#!/usr/bin/env python3
"""Are the answers' lines of facts vulntune's own? (issue 16)

Reads an evaluation's answers (EVAL_DIR/generations.jsonl) beside the
reference answers of its dataset (DATASET_DIR: examples.meta.jsonl and the
split files it points into) and counts, for the tuned model's free answers
and its grounded regenerations:

  short     answers whose "In short" line is not the reference's
            (leading and trailing blanks aside): "upgrade from 2.0.1 to
            2.0.1", "CWE: CWE(cWE_CWE_CWE_Severity: info).";
  lead      of the answers whose reference opens "Fix" with an upgrade
            sentence ("Upgrade x from 1 to 2, the lowest fixed version
            …"), those that do not open it with the same sentence: "the
            lowest fixed version on the installed release line" for a fix
            on a later one;
  line      of those, the answers whose text puts the fix on the other
            release line than the reference's lead (scoring v13's rule,
            read from the reference so that answers stored before v13
            count too): "… fixed version on the installed release line"
            for a fix on a later one, "No fix …" for a patch; and how
            many of those were fixes on a later line;
  verify    answers whose "How to verify" section has a line that is not
            one of the reference's (leading and trailing blanks aside):
            "Re-run krics", `./gradlew dependencyInsight` for a Cargo crate;
  step      answers that write the fix step "Follow the rule's documented
            fix:", and the links the evaluation scored as invented in them.

No score in results.json reads the verify lines, and the hallucination
rate counts an invented link without saying where it stands. Usage
(stdlib only):

  bench/factlines.py MODEL/eval/other MODEL/eval/other/dataset
  bench/factlines.py MODEL/eval RUN/dataset
"""
import json
import os
import sys

import references

STEP = "Follow the rule's documented fix:"
# remedy.LineContradictions: the openings of the claims that put a fix on
# the other release line, keyed by the words that tell the reference's
# lead's line.
SAME = "the lowest fixed version on the installed release line"
AGAINST_SAME = ("no fix",)
AGAINST_LATER = ("fixed version on",)


def section(text, name):
    """The non-blank lines of text's section name, stripped."""
    out, inside = [], False
    for line in text.split("\n"):
        t = line.strip()
        if t.startswith("**"):
            inside = t.strip("*: ").lower() == name.lower()
        elif inside and t:
            out.append(t)
    return out


def main(eval_dir, dataset_dir):
    refs = references.load(dataset_dir)
    counts = {}
    with open(os.path.join(eval_dir, "generations.jsonl")) as f:
        for line in f:
            g = json.loads(line)
            if g["model"] != "tuned" or g["finding_id"] not in refs:
                continue
            c = counts.setdefault("grounded" if g.get("decoding") else "free", [0] * 10)
            c[0] += 1
            reference = refs[g["finding_id"]]
            ref = set(section(reference, "How to verify"))
            if any(l not in ref for l in section(g["text"], "How to verify")):
                c[1] += 1
            if STEP in g["text"]:
                c[2] += 1
                c[3] += sum(u.startswith(("http://", "https://")) for u in g["scores"].get("ungrounded") or [])
            if section(g["text"], "In short") != section(reference, "In short"):
                c[4] += 1
            lead = section(reference, "Fix")[:1]
            if lead and lead[0].startswith("Upgrade "):
                c[5] += 1
                c[6] += section(g["text"], "Fix")[:1] != lead
                text = g["text"].lower()
                later = SAME not in lead[0].lower()
                wrong = any(o in text for o in (AGAINST_LATER if later else AGAINST_SAME))
                c[7] += wrong
                c[8] += later
                c[9] += later and wrong
    for mode in ("free", "grounded"):
        if mode in counts:
            n, verify, step, links, short, leads, lead_wrong, line_wrong, later, later_wrong = counts[mode]
            print(f"{mode}: {n} answers; an In short line not the reference's: {short}; "
                  f"a Fix lead not the reference's: {lead_wrong} of {leads}; "
                  f"the fix on the wrong release line: {line_wrong} of {leads} "
                  f"({later_wrong} of the {later} on a later line); "
                  f"a How to verify line not the reference's: {verify}; "
                  f"the documented-fix step: {step}, links invented in them: {links}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
