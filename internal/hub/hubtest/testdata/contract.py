"""Contract test of the Hub stand-in: the official huggingface_hub client,
not vulntune's code, uploads a folder to the stand-in and downloads it back.

usage: contract.py SRC_MODEL_DIR SRC_DATASET_DIR WORK_DIR

HF_ENDPOINT, HF_TOKEN and HF_HUB_DISABLE_XET come from the environment.
Prints one JSON object with what the Go test checks.
"""
import filecmp
import json
import os
import sys

from huggingface_hub import HfApi, hf_hub_download, snapshot_download

src_model, src_dataset, work = sys.argv[1:4]
api = HfApi(endpoint=os.environ["HF_ENDPOINT"])
out = {}

me = api.whoami()
out["user"] = me["name"]
model_id = f"{me['name']}/contract-model"
dataset_id = f"{me['name']}/contract-dataset"

api.create_repo(model_id, private=True)
api.create_repo(model_id, private=True, exist_ok=True)  # 409 tolerated
first = api.upload_folder(folder_path=src_model, repo_id=model_id, commit_message="upload model")
again = api.upload_folder(folder_path=src_model, repo_id=model_id, commit_message="upload unchanged")
out["first_commit"] = first.oid
out["unchanged_commit"] = again.oid
api.create_tag(model_id, tag="v1", revision=first.oid)
refs = api.list_repo_refs(model_id)
out["tags"] = {t.name: t.target_commit for t in refs.tags}
info = api.model_info(model_id, files_metadata=True)
out["sha"] = info.sha
out["siblings"] = sorted(s.rfilename for s in info.siblings)
out["tree"] = sorted(
    f.path for f in api.list_repo_tree(model_id, recursive=True) if f.__class__.__name__ == "RepoFile"
)

snap = snapshot_download(model_id, local_dir=os.path.join(work, "snapshot"))
one = hf_hub_download(model_id, "config.json", revision="v1", local_dir=os.path.join(work, "single"))
out["snapshot_dir"] = snap
out["single_file"] = one


def same_tree(a, b):
    names = []
    for root, _, files in os.walk(a):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), a)
            names.append(rel)
            if not filecmp.cmp(os.path.join(a, rel), os.path.join(b, rel), shallow=False):
                return False, rel
    return True, sorted(names)


out["model_identical"] = same_tree(src_model, snap)

api.create_repo(dataset_id, repo_type="dataset", private=False)
api.upload_folder(folder_path=src_dataset, repo_id=dataset_id, repo_type="dataset", commit_message="upload dataset")
dsnap = snapshot_download(dataset_id, repo_type="dataset", local_dir=os.path.join(work, "dataset"))
out["dataset_identical"] = same_tree(src_dataset, dsnap)

try:
    api.upload_file(
        path_or_fileobj=b"---\nbase_model: SmolLM2-135M-Instruct\n---\n# card\n",
        path_in_repo="README.md",
        repo_id=model_id,
        commit_message="bad card",
    )
    out["bad_card"] = "accepted"
except ValueError as e:
    out["bad_card"] = str(e)

print(json.dumps(out))
