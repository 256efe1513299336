"""A structural DTDL v3 / Azure Digital Twins import check, written from the specs, not from our writer.

Sources of the rules (each rule below names its source):
- [DTDL] DTDL v3 language description, Azure/opendigitaltwins-dtdl, DTDL/v3/DTDL.v3.md
  (Interface, Property, Telemetry, Relationship, Component, Primitive schema, DTMI).
- [ADT] Azure Digital Twins twin JSON format (learn.microsoft.com/azure/digital-twins/concepts-twins-graph)
  and its bulk import file (how-to-manage-graph, "Import jobs": NDJSON with Header, Models, Twins,
  Relationships sections): a twin is {"$dtId", "$etag"?, "$metadata": {"$model", <property>: {...}},
  <property or component>: value}; every `$metadata` key other than `$model` names a property of the
  twin's model; a component is an object with its own "$metadata"; telemetry is never stored in a twin;
  ADT does not implement Commands.

check_document(doc) and check_ndjson(lines) return a list of violations (empty: valid). It imports
nothing from the project.
"""
from __future__ import annotations

import json
import math
import re

CONTEXT = "dtmi:dtdl:context;3"
# [DTDL] "Digital Twin Model Identifier": dtmi:<segment>(:<segment>)*[;<version>], segments of letters,
# digits, underscores, not starting with a digit, not ending with an underscore; user DTMIs have no segment
# starting with "_"; version 1-9 digits (no leading 0), optional .minor 1-6 digits (no leading 0).
_SEGMENT = r"[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?"
USER_DTMI = re.compile(rf"^dtmi:{_SEGMENT}(?::{_SEGMENT})*(?:;[1-9][0-9]{{0,8}}(?:\.[1-9][0-9]{{0,5}})?)?$")
# [DTDL] name: "max 512 characters; contains only alphanumerics and underscore, starting with a letter,
# ending with alphanumeric".
NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")
CONTENT_TYPES = {"Property", "Telemetry", "Command", "Relationship", "Component"}
# [DTDL] keys each element may carry (its property table).
_COMMON = {"@type", "@id", "comment", "description", "displayName", "name"}
ALLOWED_KEYS = {
    "Interface": {"@context", "@type", "@id", "comment", "contents", "description", "displayName", "extends",
                  "schemas"},
    "Property": _COMMON | {"schema", "writable"},
    "Telemetry": _COMMON | {"schema"},
    "Command": _COMMON | {"request", "response"},
    "Relationship": _COMMON | {"maxMultiplicity", "minMultiplicity", "properties", "target", "writable"},
    "Component": _COMMON | {"schema"},
}
PRIMITIVES = {"boolean", "date", "dateTime", "double", "duration", "float", "integer", "long", "string", "time"}
# [ADT] per-property metadata keys in a twin's $metadata.
PROPERTY_METADATA_KEYS = {"lastUpdateTime", "sourceTime", "desiredValue", "desiredVersion", "ackVersion", "ackCode",
                          "ackDescription"}


def _value_ok(schema: str, v) -> bool:
    """[DTDL] Primitive schema: does a JSON value conform?"""
    if schema == "boolean":
        return isinstance(v, bool)
    if isinstance(v, bool):
        return False
    if schema in ("double", "float"):
        return isinstance(v, (int, float)) and math.isfinite(v)
    if schema == "integer":
        return isinstance(v, int) and -2**31 <= v < 2**31
    if schema == "long":
        return isinstance(v, int) and -2**63 <= v < 2**63
    return isinstance(v, str)  # string and the ISO 8601 kinds


def _text_ok(v) -> bool:
    """[DTDL] localizable string, max 512 characters (a string or a language map)."""
    if isinstance(v, str):
        return len(v) <= 512
    return isinstance(v, dict) and all(isinstance(x, str) and len(x) <= 512 for x in v.values())


def check_interfaces(models: list) -> list[str]:
    """Rules of [DTDL] for a list of top-level Interface documents."""
    errs = []
    by_id = {}
    for i, m in enumerate(models):
        where = f"models[{i}]"
        if not isinstance(m, dict):
            errs.append(f"{where}: not an object")
            continue
        if m.get("@context") != CONTEXT:
            errs.append(f"{where}: @context = {m.get('@context')!r}, must be {CONTEXT!r}")
        if m.get("@type") != "Interface":
            errs.append(f"{where}: @type = {m.get('@type')!r}, must be 'Interface'")
        mid = m.get("@id")
        if not isinstance(mid, str) or not USER_DTMI.match(mid) or len(mid) > 128:
            errs.append(f"{where}: @id = {mid!r} is not a user DTMI of <= 128 characters")
        elif mid.startswith(("dtmi:dtdl:", "dtmi:standard:")):
            errs.append(f"{where}: @id = {mid!r} uses a reserved prefix")
        elif mid in by_id:
            errs.append(f"{where}: @id {mid!r} defined twice")
        by_id[mid] = m
        for k in set(m) - ALLOWED_KEYS["Interface"]:
            errs.append(f"{where}: unknown key {k!r} on Interface")
        for k in ("description", "displayName", "comment"):
            if k in m and not _text_ok(m[k]):
                errs.append(f"{where}: {k} longer than 512 characters or not a string")
        names = set()
        for j, c in enumerate(m.get("contents", [])):
            cw = f"{where}.contents[{j}]"
            t = c.get("@type") if isinstance(c, dict) else None
            if t not in CONTENT_TYPES:
                errs.append(f"{cw}: @type = {t!r}, allowed {sorted(CONTENT_TYPES)}")
                continue
            if t == "Command":
                errs.append(f"{cw}: Command (Azure Digital Twins does not implement DTDL commands)")
            for k in set(c) - ALLOWED_KEYS[t]:
                errs.append(f"{cw}: unknown key {k!r} on {t}")
            name = c.get("name")
            if not isinstance(name, str) or not NAME.match(name) or len(name) > 512:
                errs.append(f"{cw}: name = {name!r} is not a DTDL name")
            elif name in names:
                errs.append(f"{cw}: name {name!r} is not unique in the Interface")
            names.add(name)
            for k in ("description", "displayName", "comment"):
                if k in c and not _text_ok(c[k]):
                    errs.append(f"{cw}: {k} longer than 512 characters or not a string")
            if t in ("Property", "Telemetry"):
                s = c.get("schema")
                if not (s in PRIMITIVES or isinstance(s, dict) or (isinstance(s, str) and USER_DTMI.match(s))):
                    errs.append(f"{cw}: schema = {s!r} is not a schema")
            if "writable" in c and not isinstance(c["writable"], bool):
                errs.append(f"{cw}: writable must be a boolean")
            if t == "Relationship":
                if "target" in c and not (isinstance(c["target"], str) and USER_DTMI.match(c["target"])):
                    errs.append(f"{cw}: target = {c['target']!r} is not a user DTMI")
                mx = c.get("maxMultiplicity", 1)
                if not isinstance(mx, int) or isinstance(mx, bool) or mx < 1:
                    errs.append(f"{cw}: maxMultiplicity = {mx!r}, must be an integer >= 1")
                if "minMultiplicity" in c and c["minMultiplicity"] != 0:
                    errs.append(f"{cw}: minMultiplicity = {c['minMultiplicity']!r}, must be 0")
            if t == "Component":
                s = c.get("schema")
                if not (isinstance(s, str) and USER_DTMI.match(s)):
                    errs.append(f"{cw}: Component schema = {s!r} is not an Interface DTMI")
    for mid, m in by_id.items():  # [DTDL] Component: schema is an Interface; no nested Component
        for c in m.get("contents", []):
            if isinstance(c, dict) and c.get("@type") == "Component":
                target = by_id.get(c.get("schema"))
                if target is None:
                    errs.append(f"{mid}: Component {c.get('name')!r} schema {c.get('schema')!r} is not defined")
                elif any(isinstance(x, dict) and x.get("@type") == "Component" for x in target.get("contents", [])):
                    errs.append(f"{mid}: Component {c.get('name')!r} schema contains a Component (not allowed in v3)")
    return errs


def _contents(models: dict, model_id: str) -> dict:
    return {c["name"]: c for c in models.get(model_id, {}).get("contents", []) if isinstance(c, dict) and "name" in c}


def _check_properties(where: str, obj: dict, contents: dict, models: dict, allow_components: bool) -> list[str]:
    errs = []
    meta = obj.get("$metadata")
    if not isinstance(meta, dict):
        return [f"{where}: $metadata missing or not an object"]
    for k, v in meta.items():
        if k == "$model":
            continue
        c = contents.get(k)
        if c is None or c.get("@type") != "Property":
            errs.append(f"{where}: $metadata.{k} does not name a Property of the model")
        elif not isinstance(v, dict) or set(v) - PROPERTY_METADATA_KEYS:
            errs.append(f"{where}: $metadata.{k} = {v!r}: allowed keys {sorted(PROPERTY_METADATA_KEYS)}")
    for k, v in obj.items():
        if k in ("$dtId", "$etag", "$metadata"):
            continue
        c = contents.get(k)
        if c is None:
            errs.append(f"{where}: {k!r} is not declared by the model")
        elif c["@type"] == "Property":
            if isinstance(c.get("schema"), str) and c["schema"] in PRIMITIVES and not _value_ok(c["schema"], v):
                errs.append(f"{where}: {k} = {v!r} does not conform to schema {c['schema']!r}")
        elif c["@type"] == "Component" and allow_components:
            if not isinstance(v, dict):
                errs.append(f"{where}: component {k!r} is not an object")
            else:
                errs += _check_properties(f"{where}.{k}", v, _contents(models, c["schema"]), models, False)
        else:
            errs.append(f"{where}: {k!r} is a {c['@type']}; a twin stores only Properties and Components")
    for name, c in contents.items():  # [ADT] components must be present (initialized) in a twin
        if c.get("@type") == "Component" and allow_components and name not in obj:
            errs.append(f"{where}: component {name!r} missing")
    return errs


def check_document(doc: dict) -> list[str]:
    """Interfaces, twins and relationships of an ADT export ({"models", "twins", "relationships"})."""
    models = doc.get("models", [])
    errs = check_interfaces(models)
    by_id = {m.get("@id"): m for m in models if isinstance(m, dict)}
    twins = {}
    for i, t in enumerate(doc.get("twins", [])):
        where = f"twins[{i}]"
        dt = t.get("$dtId")
        if not isinstance(dt, str) or not dt or dt in twins:
            errs.append(f"{where}: $dtId = {dt!r} missing or repeated")
        twins[dt] = t
        model = (t.get("$metadata") or {}).get("$model")
        if model not in by_id:
            errs.append(f"{where} ({dt}): $metadata.$model = {model!r} is not one of the exported models")
            continue
        errs += _check_properties(f"{where} ({dt})", t, _contents(by_id, model), by_id, True)
    counts = {}
    rel_ids = set()
    for i, r in enumerate(doc.get("relationships", [])):
        where = f"relationships[{i}]"
        for k in ("$dtId", "$relationshipId", "$targetId", "$relationshipName"):
            if not isinstance(r.get(k), str) or not r.get(k):
                errs.append(f"{where}: {k} missing")
        src, dst = twins.get(r.get("$dtId")), twins.get(r.get("$targetId"))
        if src is None or dst is None:
            errs.append(f"{where}: source {r.get('$dtId')!r} or target {r.get('$targetId')!r} is not a twin")
            continue
        key = (r["$dtId"], r.get("$relationshipId"))
        if key in rel_ids:
            errs.append(f"{where}: $relationshipId {r.get('$relationshipId')!r} repeated for {r['$dtId']}")
        rel_ids.add(key)
        decl = _contents(by_id, src["$metadata"]["$model"]).get(r.get("$relationshipName"))
        if decl is None or decl.get("@type") != "Relationship":
            errs.append(f"{where}: {r.get('$relationshipName')!r} is not a Relationship of {src['$metadata']['$model']}")
            continue
        if "target" in decl and dst["$metadata"]["$model"] != decl["target"]:
            errs.append(f"{where}: target model {dst['$metadata']['$model']!r}, relationship allows {decl['target']!r}")
        n = counts[(r["$dtId"], decl["name"])] = counts.get((r["$dtId"], decl["name"]), 0) + 1
        if n > decl.get("maxMultiplicity", n):
            errs.append(f"{where}: more than maxMultiplicity {decl['maxMultiplicity']} {decl['name']!r} of {r['$dtId']}")
    return errs


def check_ndjson(text: str) -> list[str]:
    """[ADT] import file: Header section (one object with fileVersion), then Models, Twins, Relationships."""
    errs = []
    sections: dict[str, list] = {}
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            errs.append(f"line {n}: not JSON ({e.msg})")
            continue
        if isinstance(obj, dict) and set(obj) == {"Section"}:
            current = obj["Section"]
            if current not in ("Header", "Models", "Twins", "Relationships") or current in sections:
                errs.append(f"line {n}: section {current!r} unknown or repeated")
            sections[current] = []
            continue
        if current is None:
            errs.append(f"line {n}: content before the first section")
            continue
        sections[current].append(obj)
    if list(sections)[:1] != ["Header"]:
        errs.append("the file does not start with the Header section")
    header = sections.get("Header", [])
    if len(header) != 1 or "fileVersion" not in header[0]:
        errs.append("the Header section must hold one object with fileVersion")
    return errs + check_document({"models": sections.get("Models", []), "twins": sections.get("Twins", []),
                                  "relationships": sections.get("Relationships", [])})
