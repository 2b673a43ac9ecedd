"""vulntune's Hub client: the official huggingface_hub, driven by Go.

`python -I run.py vulntune_engine.hub OP` reads one JSON request on stdin
and speaks the JSON-lines protocol (protocol.py). Ops:

  whoami   the token's account, organisations and role (Go decides whether
           it may write to a namespace)
  publish  one commit of a planned file set to a model or dataset repo:
           create the repo (exist_ok), compare the remote tree's hashes
           with the plan's so unchanged content makes no commit, commit the
           changed files (LFS objects the Hub already holds are not sent
           again: the client's preupload and LFS batch calls settle that),
           retry 429/5xx with backoff, and tag the commit.
  link-models  add model repo ids to a dataset card's "Models trained on
           this dataset" list (kept in the card, appended to): one commit
           of README.md alone, none when every id is already listed.

The token arrives only as HF_TOKEN in the environment and the endpoint as
HF_ENDPOINT; neither is ever written to an event.
"""

import atexit
import os
import re
import sys
import tempfile
import threading
import time

from .protocol import WorkerError, emit, finish, serve

RETRYABLE = (408, 429, 500, 502, 503, 504)


def _api():
    from huggingface_hub import HfApi, constants

    return HfApi(endpoint=constants.ENDPOINT)


def _hub_errors(fn):
    """Map the client's exceptions to WorkerErrors Go can act on, worded
    without the token (the client's messages carry URLs, not tokens)."""

    def wrapped(req):
        from huggingface_hub import constants
        from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

        try:
            return fn(req)
        except LocalTokenNotFoundError as e:
            raise WorkerError("HubNoToken", f"no Hugging Face token: {e}") from e
        except HfHubHTTPError as e:
            status = e.response.status_code if e.response is not None else 0
            kind = {401: "HubUnauthorized", 403: "HubForbidden", 404: "HubNotFound"}.get(status, "HubHTTPError")
            raise WorkerError(kind, f"{constants.ENDPOINT}: HTTP {status}: {_first_line(e)}") from e
        except WorkerError:
            raise
        except Exception as e:
            if _is_connection_error(e):
                raise WorkerError(
                    "HubUnreachable", f"cannot reach {constants.ENDPOINT} (HF_ENDPOINT): {type(e).__name__}: {e}"
                ) from e
            raise

    return wrapped


def _first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _is_connection_error(e):
    import httpx2

    while e is not None:
        if isinstance(e, (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError)):
            return True
        e = e.__cause__ or e.__context__
    return False


@_hub_errors
def op_whoami(req):
    from huggingface_hub import constants

    me = _api().whoami()
    token = (me.get("auth") or {}).get("accessToken") or {}
    fine = token.get("fineGrained") or {}
    scoped = []
    for s in fine.get("scoped") or []:
        ent = s.get("entity") or {}
        scoped.append({"type": ent.get("type", ""), "name": ent.get("name", ""), "permissions": s.get("permissions") or []})
    return {
        "name": me.get("name", ""),
        "type": me.get("type", ""),
        "orgs": [{"name": o.get("name", ""), "role": o.get("roleInOrg", "")} for o in me.get("orgs") or []],
        "token_role": token.get("role", ""),
        "scoped": scoped,
        "endpoint": constants.ENDPOINT,
    }


def _with_retries(fn, req, what):
    """Run fn, retrying the Hub's transient answers (429, 5xx) with
    exponential backoff, honouring Retry-After. The client retries its own
    preupload and upload calls; commit, create and tag it sends once."""
    from huggingface_hub.errors import HfHubHTTPError

    retries = int(req["retries"])
    wait = float(req["backoff_seconds"])
    for attempt in range(retries + 1):
        try:
            return fn()
        except HfHubHTTPError as e:
            status = e.response.status_code if e.response is not None else 0
            if status not in RETRYABLE or attempt == retries:
                raise
            after = e.response.headers.get("Retry-After", "")
            delay = float(after) if after.isdigit() else wait * (2**attempt)
            emit("progress", stage="retry", message=f"{what}: HTTP {status}, retry {attempt + 1}/{retries} in {delay:g}s")
            time.sleep(delay)


def _remote_files(api, req, revision):
    """path -> (git blob id, LFS sha256 or None) at revision; {} for a new
    branch or an empty repo."""
    from huggingface_hub.hf_api import RepoFile

    out = {}
    for f in api.list_repo_tree(req["repo"], repo_type=req["repo_type"], revision=revision, recursive=True):
        if isinstance(f, RepoFile):
            out[f.path] = (f.blob_id, f.lfs.sha256 if f.lfs else None)
    return out


def _git_blob_id(path):
    from huggingface_hub.utils.sha import git_hash

    with open(path, "rb") as fh:
        return git_hash(fh.read())


# Files the Hub keeps in every repo, which a publish never deletes.
KEEP = {".gitattributes"}

# Regular (non-LFS) files are at most this large, so hashing them the git
# way to compare with the remote blob id stays cheap.
REGULAR_MAX = 10 << 20


def _changes(files, remote):
    """The plan's files that differ from the remote ones, and the remote
    files the plan no longer has."""
    changed = []
    for f in files:
        blob, lfs = remote.get(f["path"], (None, None))
        if lfs is not None and lfs == f["sha256"]:
            continue
        if lfs is None and blob is not None and f["size"] <= REGULAR_MAX and blob == _git_blob_id(f["local"]):
            continue
        changed.append(f)
    planned = {f["path"] for f in files}
    deleted = sorted(p for p in remote if p not in planned and p not in KEEP)
    return changed, deleted


class _Progress:
    """Bytes the client streams to LFS storage, reported as progress events
    with the rate, at most every half second. Installed as the client's
    tqdm_stream_file, the hook its basic LFS transfer reads files through."""

    def __init__(self, total):
        self.total, self.sent, self.start, self.last = total, 0, time.monotonic(), 0.0
        self.lock = threading.Lock()

    def add(self, name, n, force=False):
        with self.lock:
            self.sent += n
            now = time.monotonic()
            if not force and now - self.last < 0.5:
                return
            self.last = now
            rate = self.sent / max(now - self.start, 1e-9)
            emit("progress", stage="upload", file=name, bytes=self.sent, total=self.total, rate=rate)

    def install(self):
        import contextlib

        import huggingface_hub.utils as hub_utils

        progress = self

        @contextlib.contextmanager
        def stream_file(path):
            name = os.path.basename(str(path))
            with open(path, "rb") as f:
                read = f.read

                def counted(size=-1):
                    data = read(size)
                    progress.add(name, len(data), force=not data)
                    return data

                f.read = counted
                yield f

        hub_utils.tqdm_stream_file = stream_file


@_hub_errors
def op_publish(req):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    api = _api()
    repo, repo_type = req["repo"], req["repo_type"]
    revision = req["revision"]
    start = time.monotonic()
    emit("progress", stage="repo", message=f"{repo_type} {repo}")
    url = _with_retries(
        lambda: api.create_repo(repo, repo_type=repo_type, private=bool(req["private"]), exist_ok=True),
        req,
        "create repo",
    )
    if revision != "main":
        _with_retries(
            lambda: api.create_branch(repo, repo_type=repo_type, branch=revision, exist_ok=True), req, "create branch"
        )
    files = req["files"]
    progress = _Progress(0)
    progress.install()
    committed, commit, parent, changed, deleted = False, "", "", [], []
    for _ in range(int(req["retries"]) + 1):
        info = api.repo_info(repo, repo_type=repo_type, revision=revision)
        parent = info.sha
        emit("progress", stage="compare", message=f"{len(files)} files against {revision} at {parent[:12]}")
        remote = _remote_files(api, req, parent)
        if repo_type == "dataset" and "README.md" in remote:
            files = _keep_models(api, req, parent, files)
        changed, deleted = _changes(files, remote)
        if not changed and not deleted:
            commit = parent
            break
        progress.total = sum(f["size"] for f in changed)
        emit("progress", stage="commit", message=f"{len(changed)} changed, {len(deleted)} removed", total=progress.total)
        ops = [CommitOperationAdd(path_in_repo=f["path"], path_or_fileobj=f["local"]) for f in changed]
        ops += [CommitOperationDelete(path_in_repo=p) for p in deleted]
        try:
            result = _with_retries(
                lambda: api.create_commit(
                    repo,
                    ops,
                    repo_type=repo_type,
                    revision=revision,
                    commit_message=req["commit_message"],
                    commit_description=req.get("commit_description", ""),
                    parent_commit=parent,
                ),
                req,
                "commit",
            )
        except HfHubHTTPError as e:
            if e.response is None or e.response.status_code != 412:
                raise
            # The branch moved since the comparison (another publisher, or
            # a commit of ours whose answer was lost): compare again.
            emit("progress", stage="retry", message=f"commit: {_first_line(e)}")
            continue
        # The client itself drops files the Hub already has and skips an
        # empty commit, returning the head: only a new oid is a commit.
        commit, committed = result.oid, result.oid != parent
        break
    else:
        raise WorkerError("HubConflict", f"{repo}@{revision} kept moving while vulntune compared and committed; run again")
    tag_created = False
    if req.get("tag"):
        refs = api.list_repo_refs(repo, repo_type=repo_type)
        if req["tag"] not in {t.name for t in refs.tags}:
            _with_retries(
                lambda: api.create_tag(
                    repo, repo_type=repo_type, tag=req["tag"], tag_message=req.get("tag_message"), revision=commit
                ),
                req,
                "tag",
            )
            tag_created = True
    private = api.repo_info(repo, repo_type=repo_type).private
    return {
        "repo": repo,
        "repo_type": repo_type,
        "url": str(url),
        "revision": revision,
        "commit": commit,
        "parent": parent,
        "committed": committed,
        "changed": [f["path"] for f in changed] if committed else [],
        "deleted": deleted if committed else [],
        "tag": req.get("tag", ""),
        "tag_created": tag_created,
        "private": bool(private),
        "bytes_uploaded": progress.sent,
        "seconds": time.monotonic() - start,
    }


MODELS_HEADING = "## Models trained on this dataset"
_LISTED = re.compile(r"^- \[([^\]]+)\]")


def add_models(card, ids, endpoint):
    """card with every id of ids in its MODELS_HEADING list, each a link to
    the model on endpoint; ids already listed stay where they are, new ones
    are appended in order. The section is added at the end when missing."""
    lines = card.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == MODELS_HEADING)
    except StopIteration:
        text = card.rstrip("\n") + "\n\n" + MODELS_HEADING + "\n\n"
        return text + "".join(f"- [{i}]({endpoint}/{i})\n" for i in dict.fromkeys(ids))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    listed = listed_models(card)
    new = [i for i in dict.fromkeys(ids) if i not in listed]
    if not new:
        return card
    items = [f"- [{i}]({endpoint}/{i})" for i in new]
    at = [i for i in range(start + 1, end) if _LISTED.match(lines[i])]
    if at:
        lines[at[-1] + 1:at[-1] + 1] = items
    else:
        lines[start + 1:start + 1] = [""] + items
    return "\n".join(lines)


def _read_card(api, req, revision):
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory(prefix="vulntune-card-") as tmp:
        path = _with_retries(
            lambda: hf_hub_download(req["repo"], "README.md", repo_type=req.get("repo_type", "dataset"),
                                    revision=revision, cache_dir=tmp),
            req,
            "download card",
        )
        with open(path, encoding="utf-8") as f:
            return f.read()


def listed_models(card):
    """The model ids a card's MODELS_HEADING list holds, in order."""
    lines = card.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == MODELS_HEADING)
    except StopIteration:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return [m.group(1) for m in (_LISTED.match(line) for line in lines[start + 1:end]) if m]


def _keep_models(api, req, revision, files):
    """files with the plan's dataset card carrying the models the Hub's card
    lists: republishing a dataset keeps the models trained on it listed."""
    from huggingface_hub import constants

    ids = listed_models(_read_card(api, req, revision))
    out = []
    for f in files:
        if f["path"] == "README.md" and ids:
            with open(f["local"], encoding="utf-8") as fh:
                card = fh.read()
            merged = add_models(card, ids, constants.ENDPOINT.rstrip("/"))
            if merged != card:
                tmp = tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix="-README.md", delete=False)
                with tmp:
                    tmp.write(merged)
                atexit.register(os.unlink, tmp.name)
                f = dict(f, local=tmp.name, size=os.path.getsize(tmp.name))
        out.append(f)
    return out


@_hub_errors
def op_link_models(req):
    from huggingface_hub import CommitOperationAdd, constants

    api = _api()
    repo, revision = req["repo"], req["revision"]
    info = _with_retries(lambda: api.repo_info(repo, repo_type="dataset", revision=revision), req, "repo info")
    parent = info.sha
    card = _read_card(api, dict(req, repo_type="dataset"), parent)
    updated = add_models(card, req["models"], constants.ENDPOINT.rstrip("/"))
    if updated == card:
        return {"repo": repo, "revision": revision, "commit": parent, "committed": False}
    op = CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=updated.encode("utf-8"))
    result = _with_retries(
        lambda: api.create_commit(
            repo, [op], repo_type="dataset", revision=revision, parent_commit=parent,
            commit_message=req["commit_message"],
        ),
        req,
        "commit",
    )
    return {"repo": repo, "revision": revision, "commit": result.oid, "committed": result.oid != parent}


OPS = {"whoami": op_whoami, "publish": op_publish, "link-models": op_link_models}


def main():
    return serve(OPS, "vulntune_engine.hub")


if __name__ == "__main__":
    finish(main())
