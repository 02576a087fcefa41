"""Annotation files: `artifacts.yaml` (GTO's format) and the `artifacts:` section of `dvc.yaml`.

Reading works on bytes (the API reads them from git objects at any commit); writing edits the
file in the work tree with ruamel.yaml's round-trip mode, so users' comments and key order stay.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from . import tags as T
from .errors import UserError

Reader = Callable[[str], str | None]  # a file's text at the revision being edited, None if absent

DVC_FILE = "dvc.yaml"


class AnnotationError(UserError, ValueError):
    """An annotation file that cannot be read or written: `FILE: REASON`."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason

    def __reduce__(self):  # pickled by the server's worker processes and by caches
        return type(self), (self.file, self.reason)


FIELDS = ("type", "path", "virtual", "labels", "description", "custom", "source", "repo", "rev")


@dataclass
class Annotation:
    """What a team says about an artifact: where it is, what it is."""

    name: str
    type: str | None = None
    path: str | None = None
    virtual: bool = True
    labels: list[str] = field(default_factory=list)
    description: str = ""
    custom: Any = None
    source: str = "artifacts.yaml"  # the file it was read from
    repo: str | None = None  # for links: the repository holding the files
    rev: str | None = None  # for links: the revision in that repository

    @property
    def resolved_path(self) -> str | None:
        """path as a path of its repository. A dvc.yaml's paths are relative to its folder, as DVC
        reads them (`models/dvc.yaml` with `path: clf.pkl` is `models/clf.pkl`); others, a URL and a
        link's path (in the linked repository) are as written."""
        folder = posixpath.dirname(self.source) if posixpath.basename(self.source) == DVC_FILE else ""
        if not folder or not self.path or self.repo is not None or "://" in self.path or self.path.startswith("/"):
            return self.path
        return posixpath.normpath(posixpath.join(folder, self.path))

    def to_dict(self, keys: Iterable[str] = FIELDS, *, only_set: bool = False,
                in_repository: bool = False) -> dict[str, Any]:
        """The fields named in keys, in that order (every one but name by default); with only_set,
        those without a value (None, empty, or virtual left true) are left out; with in_repository,
        `path` is `resolved_path` (what `check-ref --path` prints and `get` delivers)."""
        shown = {"labels": list(self.labels), **({"path": self.resolved_path} if in_repository else {})}
        data = {key: shown[key] if key in shown else getattr(self, key) for key in keys}
        if only_set:
            data = {k: v for k, v in data.items() if v not in (None, "", [], {}) and (k, v) != ("virtual", True)}
        return data


def files_for(name: str, index: str = "artifacts.yaml", gto_exact: bool = False) -> list[tuple[str, str]]:
    """(file, key) pairs where name's annotation can live, in order of precedence; AnnotationError
    if name's folder would put its dvc.yaml outside the repository (`../x:name`). gto_exact: only
    where GTO reads it (index; nowhere for a monorepo name)."""
    dirname, short = T.split_fullname(name)
    if gto_exact:
        return [] if dirname is not None else [(index, short)]
    if dirname is not None:
        file = f"{dirname.strip('/')}/{DVC_FILE}"
        problem = outside_reason(file)
        if problem is not None:
            raise AnnotationError(file, problem)
        return [(file, short)]
    return [(index, short), (DVC_FILE, short)]


def outside_reason(path: str) -> str | None:
    """Why path (relative, `/`-separated) may not name a file of the repository, or None if it may:
    absolute paths, `..`, empty or `.` parts and `.git` (in any case) are refused."""
    if not path or "\0" in path or "\n" in path or "\\" in path:
        return "not a usable path inside the repository"
    if path.startswith("/"):
        return "an absolute path; annotation files are inside the repository"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "leaves the repository (or has empty or '.' parts); use a plain relative path"
    if any(part.lower() == ".git" for part in parts):
        return "inside .git; annotation files are in the work tree"
    return None


def worktree_file(root: str | os.PathLike, file: str) -> str:
    """The path of file in the work tree at root, if it stays there once symlinks are followed
    (parent folders and the file itself); AnnotationError otherwise."""
    problem = outside_reason(file)
    if problem is not None:
        raise AnnotationError(file, problem)
    top = os.path.realpath(root)
    real = os.path.realpath(os.path.join(top, file))
    if os.path.commonpath([top, real]) != top:
        raise AnnotationError(file, "a symlink leads it out of the repository; refusing to follow it")
    relative = os.path.relpath(real, top).replace(os.sep, "/")
    if any(part.lower() == ".git" for part in relative.split("/")):
        raise AnnotationError(file, "a symlink leads it into .git; refusing to follow it")
    return real


def read_worktree(root: str | os.PathLike, file: str) -> bytes | None:
    """file's bytes in the work tree at root (within the size bound), None if there is no such file;
    AnnotationError if it is too big or a symlink leads out of the work tree."""
    from .yaml import YamlError, read_file

    path = worktree_file(root, file)
    if not os.path.isfile(path):
        return None
    try:
        return read_file(path)
    except YamlError as exc:
        raise AnnotationError(file, str(exc)) from None
    except OSError as exc:
        raise AnnotationError(file, f"cannot be read ({exc.strerror})") from None


def _safe_load(data: bytes, where: str) -> Any:
    from .yaml import YamlError, load

    try:
        return load(data)
    except YamlError as exc:
        raise AnnotationError(where, str(exc)) from None


# name -> the parse of a blob, or the AnnotationError it raised (a bad file is refused once)
_PARSE_CACHE: dict[tuple[str, str], dict[str, Annotation] | AnnotationError] = {}
_CACHE_FORMAT = 4  # bump when parse() or Annotation change, so old cache entries are not read
MAX_VARS_FILES = 100  # files one dvc.yaml's templating may read (its `vars:` and params.yaml)
Inputs = Mapping[str, "bytes | int | None"]  # path -> a file's bytes, its size when over the bound, None if absent


def parse_blob(file: str, oid: str, data: bytes, dirname: str | None = None,
               inputs: Inputs | None = None, input_oids: dict[str, str] | None = None) -> dict[str, Annotation]:
    """parse(), remembered by git blob id in memory and in the cache folder (a registry reads the
    same files at many commits). A file that cannot be read is remembered too (as its reason), so
    a bad file costs its parse once. inputs: a templated dvc.yaml's files (`template_inputs`),
    with their blob ids (input_oids), which are then part of what is remembered."""
    from . import cache
    from .yaml import cache_tag

    if inputs is not None:
        oid = "+".join([oid, *(f"{path}={(input_oids or {}).get(path, '-')}" for path in sorted(inputs))])
        oid = hashlib.sha1(oid.encode()).hexdigest()
    key = (file, oid)
    found = _PARSE_CACHE.get(key)
    if isinstance(found, AnnotationError):
        raise found
    if found is not None:
        return found
    kind = "dvc" if posixpath.basename(file) == DVC_FILE else "gto"
    disk_key = f"v{_CACHE_FORMAT}-{oid}-{kind}-{(dirname or '').replace('/', '%')}{cache_tag()}"
    stored = cache.load_value("annotations", disk_key)
    if isinstance(stored, str):
        error = _PARSE_CACHE[key] = AnnotationError(file, stored)
        raise error
    if isinstance(stored, dict):
        found = {name: Annotation(**fields) for name, fields in stored.items()}
    else:
        try:
            found = parse(file, data, dirname, inputs)
        except NeedsDvc as exc:  # not for the cache folder: it reads once DVC is installed
            _PARSE_CACHE[key] = exc
            raise
        except AnnotationError as exc:
            cache.store_value("annotations", disk_key, exc.reason)
            _PARSE_CACHE[key] = exc
            raise
        cache.store_value("annotations", disk_key, {name: asdict(a) for name, a in found.items()})
    _PARSE_CACHE[key] = found
    return found


class NeedsDvc(AnnotationError):
    """A dvc.yaml whose annotations only DVC's parser can read (`${…}` templating), without DVC."""


def template_inputs(file: str, data: bytes, oid: str | None = None) -> list[str] | None:
    """The files (paths in the repository) a dvc.yaml's `artifacts:` take values from when they use
    DVC's `${…}` templating: `params.yaml` beside it and the files its `vars:` names, each once,
    only those inside the repository (DVC is told of no other). None when the artifacts use no
    templating, or the file cannot be read (`parse` says why). Remembered by blob id (oid) in the
    cache folder: a templated pipeline's dvc.yaml is not parsed on every read."""
    from . import cache
    from .yaml import cache_tag

    if posixpath.basename(file) != DVC_FILE or b"${" not in data:
        return None
    key = f"v{_CACHE_FORMAT}-{oid}-inputs{cache_tag()}"
    stored = cache.load_value("annotations", key) if oid else None
    if isinstance(stored, list) or stored == "":
        return stored or None
    found = _template_inputs(file, data)
    if oid:
        cache.store_value("annotations", key, found or "")
    return found


def _template_inputs(file: str, data: bytes) -> list[str] | None:
    try:
        content = _safe_load(data, file)
    except AnnotationError:
        return None
    if not isinstance(content, dict) or not _templated(content.get("artifacts")):
        return None
    folder = posixpath.dirname(file)
    wanted = [posixpath.join(folder, "params.yaml")]
    declared = content.get("vars")
    for item in declared if isinstance(declared, list) else []:
        if isinstance(item, str):
            wanted.append(posixpath.normpath(posixpath.join(folder, item.partition(":")[0])))
    return [path for path in dict.fromkeys(wanted) if outside_reason(path) is None][:MAX_VARS_FILES + 1]


def _templated(value: Any) -> bool:
    """Whether a parsed value holds a `${` anywhere (keys too)."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_templated(k) or _templated(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False


def _resolved(file: str, content: dict, inputs: Inputs | None) -> Any:
    """The `artifacts:` of a templated dvc.yaml as DVC resolves them (its own parser, on the given
    files only, in memory); AnnotationError if DVC is not installed or cannot resolve them."""
    if inputs is None:
        raise AnnotationError(file, "its artifacts use ${...} templating, whose files were not read")
    if len(inputs) > MAX_VARS_FILES:
        raise AnnotationError(file, f"its templating reads more than {MAX_VARS_FILES} files")
    try:
        from dvc.fs import MemoryFileSystem  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from dvc.parsing import DataResolver  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        from .install import pip_install

        raise NeedsDvc(file, "its artifacts use ${...} templating, which only DVC's parser reads: add tagreg's "
                             "dvc extra: " + pip_install("dvc")) from None
    from .yaml import YamlError, check, limits

    files = {}
    for path, data in inputs.items():
        if isinstance(data, int):
            raise AnnotationError(file, f"{path}, which its templating reads, is larger than {limits()['bytes']} "
                                        f"bytes ({data} bytes)")
        if data is None:
            continue
        if path.endswith((".yaml", ".yml")):
            try:
                check(data)  # the bounds (size, depth, aliases) before DVC's own YAML parser reads it
            except YamlError as exc:
                raise AnnotationError(file, f"{path}, which its templating reads: {exc}") from None
        files[path] = data
    fs = MemoryFileSystem(global_store=False)
    fs.pipe(files)
    project = _Project(fs)
    try:
        return DataResolver(project, posixpath.dirname(file), content).resolve_artifacts()
    except Exception as exc:  # DVC's own errors (ResolveError ...): their text says what is wrong  # noqa: BLE001
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AnnotationError(file, f"DVC cannot resolve its templating: {reason}") from None


@dataclass
class _Project:
    """What DVC's parser (`dvc.parsing.DataResolver`) asks of a DVC project: its files, its config."""

    fs: Any
    config: dict = field(default_factory=dict)


def parse(file: str, data: bytes, dirname: str | None = None, inputs: Inputs | None = None) -> dict[str, Annotation]:
    """All annotations in one file's bytes, keyed by full artifact name; AnnotationError if the file
    is not UTF-8, not YAML, over the bounds of `tagreg.yaml`, or not in the expected shape. A
    dvc.yaml whose annotations use `${…}` templating is resolved by DVC's parser (tagreg[dvc]) with
    inputs (`template_inputs`); NeedsDvc without DVC."""
    content = _safe_load(data, file)
    is_dvc = posixpath.basename(file) == DVC_FILE
    if is_dvc:
        section = content.get("artifacts") if isinstance(content, dict) else None
        if content is not None and not isinstance(content, dict):
            raise AnnotationError(file, "doesn't conform to DVC format")
        if _templated(section):
            section = _resolved(file, content, inputs)  # type: ignore[arg-type]
        content = section or {}
    elif content is None:
        content = {}
    if not isinstance(content, dict):
        raise AnnotationError(file, "file doesn't conform to GTO format")
    out: dict[str, Annotation] = {}
    for short, entry in content.items():
        short = str(short)
        if not T.is_name(short):
            raise AnnotationError(file, T.INVALID_NAME.format(short))
        entry = entry or {}
        if not isinstance(entry, dict):
            raise AnnotationError(file, f"entry '{short}' must be a mapping")
        full = f"{dirname}:{short}" if dirname else short
        out[full] = _from_entry(full, entry, file, is_dvc)
    return out


def _from_entry(name: str, entry: dict, file: str, is_dvc: bool) -> Annotation:
    def text(key: str, value: Any, single_line: bool = True) -> str | None:
        """value if it is text (GTO refuses numbers, lists, ... too)."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise AnnotationError(file, f"{key} of '{name}' must be text, not {type(value).__name__}")
        if single_line and ("\0" in value or "\n" in value or "\r" in value):
            raise AnnotationError(file, f"{key} of '{name}' must be one line of text without NUL")
        return value

    labels = entry.get("labels") or []
    if isinstance(labels, str):
        labels = [labels]
    if not isinstance(labels, list):
        raise AnnotationError(file, f"labels of '{name}' must be a list")
    description_key = "desc" if is_dvc and "desc" in entry else "description"
    return Annotation(
        name=name,
        type=text("type", entry.get("type")),
        path=text("path", entry.get("path")),
        virtual=bool(entry.get("virtual", True)),
        labels=[text("labels", label) or "" for label in labels],
        description=text(description_key, entry.get(description_key), single_line=False) or "",
        custom=entry.get("meta" if is_dvc else "custom", entry.get("custom")),
        source=file,
        repo=text("repo", entry.get("repo")),
        rev=text("rev", entry.get("rev")),
    )


# -- writing -------------------------------------------------------------------------------
# Edits work on text, so the same code edits the work tree and, through git plumbing, a branch
# that is not checked out (or a bare repository). `read(file)` returns a file's text or None.


def _rt_yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: keeps comments, key order and quoting
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load_rt(file: str, text: str | None):
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    from .yaml import YamlError, check

    if text is None:
        return CommentedMap()
    try:
        data = _rt_yaml().load(check(text))  # the bounds first: ruamel.yaml has none of its own
    except YamlError as exc:
        raise AnnotationError(file, str(exc)) from None
    except YAMLError as exc:
        raise AnnotationError(file, f"not valid YAML ({str(exc).strip().splitlines()[0]})") from None
    if data is None:
        return CommentedMap()
    if not isinstance(data, dict):
        raise AnnotationError(file, "doesn't conform to the expected format")
    return data


def _dump(data) -> str:

    buffer = io.StringIO()
    _rt_yaml().dump(data, buffer)
    return buffer.getvalue()


def _section(file: str, data, create: bool = False):
    """The mapping that holds annotations: the file itself, or dvc.yaml's `artifacts:`."""
    if posixpath.basename(file) != DVC_FILE:
        return data
    if create and not isinstance(data.get("artifacts"), dict):
        from ruamel.yaml.comments import CommentedMap

        data["artifacts"] = CommentedMap()
    section = data.get("artifacts")
    return section if isinstance(section, dict) else None


def choose_file(read: Reader, name: str, index: str = "artifacts.yaml") -> tuple[str, str]:
    """The (file, key) to edit for name: where it is declared already, else the first choice."""
    candidates = files_for(name, index)
    for file, key in candidates:
        text = read(file)
        if text is not None:
            section = _section(file, _load_rt(file, text))
            if section is not None and key in section:
                return file, key
    return candidates[0]


def update(read: Reader, name: str, fields: dict[str, Any], index: str = "artifacts.yaml") -> tuple[str, str]:
    """Set fields of name's annotation; returns (file, its new text)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    file, key = choose_file(read, name, index)
    data = _load_rt(file, read(file))
    section = _section(file, data, create=True)
    entry = section.get(key)
    if not isinstance(entry, dict):
        entry = section[key] = CommentedMap()
    renames = {"description": "desc", "custom": "meta"} if posixpath.basename(file) == DVC_FILE else {}
    for field_name, value in fields.items():
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_flow_style()  # `labels: [a, b]`, as people write them
        entry[renames.get(field_name, field_name)] = value
    return file, _dump(data)


def remove(read: Reader, name: str, index: str = "artifacts.yaml") -> tuple[str, str] | None:
    """Remove name's annotation; returns (file, its new text), or None if it has none."""
    for file, key in files_for(name, index):
        text = read(file)
        if text is None:
            continue
        data = _load_rt(file, text)
        section = _section(file, data)
        if section is not None and key in section:
            del section[key]
            return file, _dump(data)
    return None
