"""Annotation files: `artifacts.yaml` (GTO's format) and the `artifacts:` section of `dvc.yaml`.

Reading works on bytes (the API reads them from git objects at any commit); writing edits the
file in the work tree with ruamel.yaml's round-trip mode, so users' comments and key order stay.
"""

from __future__ import annotations

import posixpath

from . import tags as T
from .errors import UserError
from .record import as_dict, field, record

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

    Reader = Callable[[str], Optional[str]]  # a file's text at the revision being edited, None if absent

DVC_FILE = "dvc.yaml"


class AnnotationError(UserError, ValueError):
    """An annotation file that cannot be read or written."""


@record
class Annotation:
    """What a team says about an artifact: where it is, what it is."""

    name: str
    type: Optional[str] = None
    path: Optional[str] = None
    virtual: bool = True
    labels: list[str] = field(factory=list)
    description: str = ""
    custom: Any = None
    source: str = "artifacts.yaml"  # the file it was read from
    repo: Optional[str] = None  # for links: the repository holding the files
    rev: Optional[str] = None  # for links: the revision in that repository

    def gto_dict(self) -> dict[str, Any]:
        """The annotation as GTO 1.10.1 prints it inside `enrichments`."""
        return {
            "type": self.type,
            "path": self.path,
            "virtual": self.virtual,
            "labels": list(self.labels),
            "description": self.description,
            "custom": self.custom,
        }

    def to_dict(self) -> dict[str, Any]:
        """Every field that is set, for `describe`."""
        data = as_dict(self)
        data.pop("name")
        if self.virtual:
            data.pop("virtual")
        return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def files_for(name: str, index: str = "artifacts.yaml") -> list[tuple[str, str]]:
    """(file, key) pairs where name's annotation can live, in order of precedence."""
    dirname, short = T.split_fullname(name)
    if dirname is not None:
        return [(f"{dirname.strip('/')}/{DVC_FILE}", short)]
    return [(index, short), (DVC_FILE, short)]


def safe_load(text: str) -> Any:
    """Parse YAML for reading: PyYAML's libyaml loader, ~50x faster than a round-trip parser."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _safe_load(data: bytes, where: str) -> Any:
    import yaml

    try:
        return safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{where} is not valid YAML") from exc


_PARSE_CACHE: dict[tuple[str, str], dict[str, Annotation]] = {}
_CACHE_FORMAT = 2  # bump when parse() or Annotation change, so old cache entries are not read


def parse_blob(file: str, oid: str, data: bytes, dirname: Optional[str] = None) -> dict[str, Annotation]:
    """parse(), remembered by git blob id in memory and in the cache folder: big files cost ~50 ms
    to parse, and a warm cache spares even small ones the ~25 ms import of the YAML parser."""
    from . import cache

    key = (file, oid)
    found = _PARSE_CACHE.get(key)
    if found is not None:
        return found
    kind = "dvc" if posixpath.basename(file) == DVC_FILE else "gto"
    disk_key = f"v{_CACHE_FORMAT}-{oid}-{kind}-{(dirname or '').replace('/', '%')}"
    stored = cache.load_value("annotations", disk_key)
    if isinstance(stored, dict):
        found = {name: Annotation(**fields) for name, fields in stored.items()}
    else:
        found = parse(file, data, dirname)
        cache.store_value("annotations", disk_key, {name: as_dict(a) for name, a in found.items()})
    _PARSE_CACHE[key] = found
    return found


def parse(file: str, data: bytes, dirname: Optional[str] = None) -> dict[str, Annotation]:
    """All annotations in one file's bytes, keyed by full artifact name."""
    content = _safe_load(data, file)
    is_dvc = posixpath.basename(file) == DVC_FILE
    if is_dvc:
        section = content.get("artifacts") if isinstance(content, dict) else None
        if content is not None and not isinstance(content, dict):
            raise AnnotationError(f"{file} doesn't conform to DVC format")
        content = section or {}
    elif content is None:
        content = {}
    if not isinstance(content, dict):
        raise AnnotationError(f"{file} file doesn't conform to GTO format")
    out: dict[str, Annotation] = {}
    for short, entry in content.items():
        short = str(short)
        if not T.is_name(short):
            raise AnnotationError(T.INVALID_NAME.format(short))
        entry = entry or {}
        if not isinstance(entry, dict):
            raise AnnotationError(f"{file}: entry '{short}' must be a mapping")
        full = f"{dirname}:{short}" if dirname else short
        out[full] = _from_entry(full, entry, file, is_dvc)
    return out


def _from_entry(name: str, entry: dict, file: str, is_dvc: bool) -> Annotation:
    labels = entry.get("labels") or []
    if isinstance(labels, str):
        labels = [labels]
    if not isinstance(labels, list):
        raise AnnotationError(f"{file}: labels of '{name}' must be a list")
    type_ = entry.get("type")
    description = entry.get("desc" if is_dvc else "description", entry.get("description", "")) or ""
    return Annotation(
        name=name,
        type=str(type_) if type_ is not None else None,
        path=str(entry["path"]) if entry.get("path") is not None else None,
        virtual=bool(entry.get("virtual", True)),
        labels=[str(label) for label in labels],
        description=str(description),
        custom=entry.get("meta" if is_dvc else "custom", entry.get("custom")),
        source=file,
        repo=entry.get("repo"),
        rev=entry.get("rev"),
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


def _load_rt(file: str, text: Optional[str]):
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    if text is None:
        return CommentedMap()
    try:
        data = _rt_yaml().load(text)
    except YAMLError as exc:
        raise AnnotationError(f"{file} is not valid YAML") from exc
    if data is None:
        return CommentedMap()
    if not isinstance(data, dict):
        raise AnnotationError(f"{file} doesn't conform to the expected format")
    return data


def _dump(data) -> str:
    import io

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


def remove(read: Reader, name: str, index: str = "artifacts.yaml") -> Optional[tuple[str, str]]:
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
